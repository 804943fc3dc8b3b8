// Command go-cursor reads and writes Liftbridge cursors through the official Go client
// (go-liftbridge), so that the SDK's specs can check that both clients agree on where a
// cursor lives and what its value means.
//
//	go-cursor set   <broker> <stream> <partition> <cursorID> <offset>
//	go-cursor fetch <broker> <stream> <partition> <cursorID>
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	lift "github.com/liftbridge-io/go-liftbridge/v2"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 6 {
		fail("usage: go-cursor set|fetch <broker> <stream> <partition> <cursorID> [offset]")
	}
	op, broker, stream, cursorID := os.Args[1], os.Args[2], os.Args[3], os.Args[5]
	partition, err := strconv.ParseInt(os.Args[4], 10, 32)
	if err != nil {
		fail("bad partition: %v", err)
	}
	client, err := lift.Connect([]string{broker})
	if err != nil {
		fail("connect: %v", err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	switch op {
	case "set":
		if len(os.Args) < 7 {
			fail("set needs an offset")
		}
		offset, err := strconv.ParseInt(os.Args[6], 10, 64)
		if err != nil {
			fail("bad offset: %v", err)
		}
		if err := client.SetCursor(ctx, cursorID, stream, int32(partition), offset); err != nil {
			fail("set cursor: %v", err)
		}
		fmt.Println("ok")
	case "fetch":
		offset, err := client.FetchCursor(ctx, cursorID, stream, int32(partition))
		if err != nil {
			fail("fetch cursor: %v", err)
		}
		fmt.Println(offset)
	default:
		fail("unknown operation %q", op)
	}
}
