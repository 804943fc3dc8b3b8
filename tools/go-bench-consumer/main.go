// Command go-bench-consumer is the Go side of rx-liftbridge's subscribe benchmarks
// (bench/subscribe). It uses go-liftbridge v2.4.0, the official Go client, against the same
// broker as the TypeScript SDK so that the two can be compared in one run.
//
//	go-bench-consumer load -brokers 127.0.0.1:9292 -stream s -partitions 4 -count 1000000 -size 256
//	    creates the stream (unless -create=false) and publishes count messages of size bytes,
//	    round-robin over the partitions, with PublishAsync and at most -window unacknowledged;
//	    waits for every ack and prints one JSON line.
//
//	go-bench-consumer consume -brokers 127.0.0.1:9292 -stream s -partitions 4 -count 250000
//	    subscribes to every partition from the earliest offset, reads exactly count messages per
//	    partition (checking that offsets run 0..count-1 without gap or repeat) and prints one
//	    JSON line: msgs, seconds, msgPerSec, cpuUserMs, cpuSysMs (getrusage over the read),
//	    maxRssKb.
//
//	go-bench-consumer idle -brokers 127.0.0.1:9292 -stream s -partitions 100 -seconds 30
//	    subscribes to every partition of one stream (new messages only), waits until each
//	    subscription is established, then idles for -seconds and prints one JSON line: the CPU
//	    (getrusage) spent while idle, in ms per second, and maxRssKb.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	lift "github.com/liftbridge-io/go-liftbridge/v2"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go-bench-consumer load|consume [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "load":
		err = load(os.Args[2:])
	case "consume":
		err = consume(os.Args[2:])
	case "idle":
		err = idle(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-bench-consumer:", err)
		os.Exit(1)
	}
}

func printJSON(v any) error {
	return json.NewEncoder(os.Stdout).Encode(v)
}

type usage struct {
	userMs, sysMs float64
	maxRssKb      int64
}

func rusage() usage {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	ms := func(t syscall.Timeval) float64 { return float64(t.Sec)*1e3 + float64(t.Usec)/1e3 }
	return usage{userMs: ms(ru.Utime), sysMs: ms(ru.Stime), maxRssKb: ru.Maxrss}
}

func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:9292", "comma-separated broker addresses")
	stream := fs.String("stream", "", "stream name (also its NATS subject)")
	partitions := fs.Int("partitions", 1, "partitions (created with the stream; messages go round-robin)")
	count := fs.Int("count", 1_000_000, "messages in total")
	size := fs.Int("size", 256, "value size in bytes")
	window := fs.Int("window", 1024, "maximum unacknowledged messages")
	create := fs.Bool("create", true, "create the stream first")
	_ = fs.Parse(args)
	if *stream == "" {
		return errors.New("-stream is required")
	}
	if *window < 1 || *partitions < 1 || *count < 0 || *size < 0 {
		return errors.New("-window and -partitions must be >= 1, -count and -size >= 0")
	}

	client, err := lift.Connect(strings.Split(*brokers, ","), lift.AckWaitTime(60*time.Second))
	if err != nil {
		return err
	}
	defer client.Close()
	ctx := context.Background()
	if *create {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := client.CreateStream(cctx, *stream, *stream, lift.Partitions(int32(*partitions)))
		cancel()
		if err != nil && !errors.Is(err, lift.ErrStreamExists) {
			return fmt.Errorf("create stream: %w", err)
		}
	}

	value := make([]byte, *size)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	var (
		slots    = make(chan struct{}, *window)
		wg       sync.WaitGroup
		failures atomic.Int64
		firstErr atomic.Value
		acked    atomic.Int64
	)
	onAck := func(ack *lift.Ack, err error) {
		if err != nil {
			if failures.Add(1) == 1 {
				firstErr.Store(err.Error())
			}
		} else if ack != nil {
			acked.Add(1)
		}
		<-slots
		wg.Done()
	}
	start := time.Now()
	for i := 0; i < *count; i++ {
		slots <- struct{}{}
		wg.Add(1)
		err := client.PublishAsync(ctx, *stream, value, onAck,
			lift.ToPartition(int32(i%*partitions)), lift.AckPolicyLeader())
		if err != nil {
			// Not sent: the handler will not run for it.
			<-slots
			wg.Done()
			if failures.Add(1) == 1 {
				firstErr.Store(err.Error())
			}
		}
	}
	wg.Wait()
	seconds := time.Since(start).Seconds()
	out := map[string]any{
		"mode": "load", "stream": *stream, "partitions": *partitions, "msgs": *count, "size": *size,
		"acked": acked.Load(), "failures": failures.Load(), "seconds": seconds,
		"msgPerSec": float64(*count) / seconds,
	}
	if e, ok := firstErr.Load().(string); ok {
		out["firstError"] = e
	}
	if err := printJSON(out); err != nil {
		return err
	}
	if failures.Load() > 0 || acked.Load() != int64(*count) {
		return fmt.Errorf("%d of %d messages not acknowledged", int64(*count)-acked.Load(), *count)
	}
	return nil
}

// partitionReader reads one partition and checks its offsets.
type partitionReader struct {
	want     int64
	next     int64 // next expected offset
	problems []string
	done     chan struct{}
	once     sync.Once
}

func consume(args []string) error {
	fs := flag.NewFlagSet("consume", flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:9292", "comma-separated broker addresses")
	stream := fs.String("stream", "", "stream name")
	partitions := fs.Int("partitions", 1, "partitions to read (0..n-1)")
	count := fs.Int64("count", 1_000_000, "messages to read per partition")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	_ = fs.Parse(args)
	if *stream == "" {
		return errors.New("-stream is required")
	}
	if *partitions < 1 || *count < 1 {
		return errors.New("-partitions and -count must be >= 1")
	}

	client, err := lift.Connect(strings.Split(*brokers, ","))
	if err != nil {
		return err
	}
	defer client.Close()
	// Metadata for the stream before the clock starts (Connect fetched the cluster's already).
	mctx, mcancel := context.WithTimeout(context.Background(), 10*time.Second)
	if _, err := client.FetchMetadata(mctx, lift.Streams([]string{*stream})); err != nil {
		mcancel()
		return err
	}
	mcancel()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	readers := make([]*partitionReader, *partitions)
	before := rusage()
	start := time.Now()
	for p := 0; p < *partitions; p++ {
		r := &partitionReader{want: *count, done: make(chan struct{})}
		readers[p] = r
		finish := func() { r.once.Do(func() { close(r.done) }) }
		// The handler runs on the subscription's own goroutine, one message at a time.
		handler := func(msg *lift.Message, err error) {
			if r.next >= r.want {
				return // read enough; the context is cancelled once every partition is done
			}
			if err != nil {
				r.problems = append(r.problems, fmt.Sprintf("error after offset %d: %v", r.next-1, err))
				finish()
				return
			}
			if off := msg.Offset(); off != r.next {
				if len(r.problems) < 5 {
					r.problems = append(r.problems, fmt.Sprintf("expected offset %d, got %d", r.next, off))
				}
				if off < r.next {
					return // a repeat: counted as a problem, not as progress
				}
			}
			r.next++
			if r.next == r.want {
				finish()
			}
		}
		err := client.Subscribe(ctx, *stream, handler, lift.Partition(int32(p)), lift.StartAtEarliestReceived())
		if err != nil {
			return fmt.Errorf("subscribe partition %d: %w", p, err)
		}
	}
	timedOut := false
	for _, r := range readers {
		select {
		case <-r.done:
		case <-ctx.Done():
			timedOut = true
		}
		if timedOut {
			break
		}
	}
	seconds := time.Since(start).Seconds()
	after := rusage()
	cancel()

	var msgs int64
	var problems []string
	for p, r := range readers {
		select {
		case <-r.done:
		default:
			problems = append(problems, fmt.Sprintf("partition %d: read %d of %d before the timeout", p, r.next, r.want))
		}
		msgs += r.next
		for _, pr := range r.problems {
			problems = append(problems, fmt.Sprintf("partition %d: %s", p, pr))
		}
	}
	out := map[string]any{
		"mode": "consume", "stream": *stream, "partitions": *partitions,
		"msgs": msgs, "seconds": seconds, "msgPerSec": float64(msgs) / seconds,
		"cpuUserMs": after.userMs - before.userMs, "cpuSysMs": after.sysMs - before.sysMs,
		"cpuUsPerMsg": (after.userMs - before.userMs + after.sysMs - before.sysMs) * 1e3 / float64(msgs),
		"maxRssKb":    after.maxRssKb, "ok": len(problems) == 0, "problems": problems,
	}
	if err := printJSON(out); err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problem(s): %s", len(problems), strings.Join(problems, "; "))
	}
	return nil
}

func idle(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:9292", "comma-separated broker addresses")
	stream := fs.String("stream", "", "stream name")
	partitions := fs.Int("partitions", 100, "partitions to hold a subscription on (0..n-1)")
	seconds := fs.Float64("seconds", 30, "idle seconds measured")
	_ = fs.Parse(args)
	client, err := lift.Connect(strings.Split(*brokers, ","))
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for p := 0; p < *partitions; p++ {
		// Subscribe returns once the server has answered the subscription's handshake.
		if err := client.Subscribe(ctx, *stream, func(*lift.Message, error) {}, lift.Partition(int32(p))); err != nil {
			return fmt.Errorf("partition %d: %w", p, err)
		}
	}
	before := rusage()
	time.Sleep(time.Duration(*seconds * float64(time.Second)))
	after := rusage()
	return printJSON(map[string]any{
		"client": "go-liftbridge", "subscriptions": *partitions, "seconds": *seconds,
		"cpuMsPerSec": (after.userMs - before.userMs + after.sysMs - before.sysMs) / *seconds,
		"maxRssKb":    after.maxRssKb,
	})
}
