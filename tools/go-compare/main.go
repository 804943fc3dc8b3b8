// Command go-compare runs go-liftbridge (the official Go client, v2.4.0) for comparisons with
// rx-liftbridge:
//
//	go-compare partition -brokers 127.0.0.1:9292 -stream orders < keys.hex
//	    prints, for every hex-encoded key on stdin (one per line, empty line = empty key), the
//	    partition go-liftbridge's key partitioner (lift.PartitionByKey()) picks, using the stream's
//	    partition count from the Go client's own FetchMetadata.
//
//	go-compare bench -brokers 127.0.0.1:9292 -stream bench -count 50000 -window 128 -size 256
//	    publishes count messages of size bytes with at most window unacknowledged (window 1 =
//	    the blocking Publish, else PublishAsync with an ack handler) and prints one JSON line:
//	    messages, seconds, msg/s, p50/p99 ack latency (µs), CPU µs per message.
//
//	go-compare latency -brokers 127.0.0.1:9292 -stream lat -rate 1000 -seconds 10 -warmup 2 -size 256
//	    subscribes to partition 0 of an empty stream from the earliest offset, then publishes at a
//	    fixed offered rate (PublishAsync, ack policy leader), each value stamped with its send time;
//	    prints one JSON line: end-to-end latency (publish call to the subscription's handler)
//	    p50/p99/p99.9 in µs over the messages after the warm-up seconds, and the checks (every
//	    offset once, in order, all received).
//
//	go-compare envelope -value 76 -key 6b -header h= -inbox in -cid c1 -policy all -expected 5
//	    prints, hex-encoded, the envelope lift.NewMessage builds for the given hex value, key and
//	    headers (name=hexvalue, repeatable; Go writes map entries in random order, so compare byte
//	    for byte only with at most one header).
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	lift "github.com/liftbridge-io/go-liftbridge/v2"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go-compare partition|bench|envelope [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "partition":
		err = partition(os.Args[2:])
	case "bench":
		err = bench(os.Args[2:])
	case "envelope":
		err = envelope(os.Args[2:])
	case "latency":
		err = latency(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-compare:", err)
		os.Exit(1)
	}
}

func partition(args []string) error {
	fs := flag.NewFlagSet("partition", flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:9292", "comma-separated broker addresses")
	stream := fs.String("stream", "", "stream whose partition count is used")
	_ = fs.Parse(args)

	client, err := lift.Connect(strings.Split(*brokers, ","))
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	metadata, err := client.FetchMetadata(ctx)
	if err != nil {
		return err
	}
	if metadata.GetStream(*stream) == nil {
		return fmt.Errorf("no metadata for stream %q", *stream)
	}

	// The partitioner exactly as the Go client applies it to a message.
	opts := &lift.MessageOptions{}
	lift.PartitionByKey()(opts)

	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		key, err := hex.DecodeString(strings.TrimSpace(in.Text()))
		if err != nil {
			return err
		}
		fmt.Fprintln(out, opts.Partitioner.Partition(*stream, key, nil, metadata))
	}
	return in.Err()
}

type result struct {
	Client    string  `json:"client"`
	Window    int     `json:"window"`
	Messages  int     `json:"messages"`
	Seconds   float64 `json:"seconds"`
	MsgPerSec float64 `json:"msgPerSec"`
	P50Us     float64 `json:"p50Us"`
	P99Us     float64 `json:"p99Us"`
	CPUUsMsg  float64 `json:"cpuUsPerMsg"`
	Errors    int     `json:"errors"`
	MinOffset int64   `json:"minOffset"`
	MaxOffset int64   `json:"maxOffset"`
	// With -partitions > 1: messages i go to partition i % partitions; contiguous reports whether
	// every partition's acked offsets run min..max with one ack each.
	Partitions int     `json:"partitions"`
	Contiguous bool    `json:"contiguous"`
	MaxRSSMb   float64 `json:"maxRssMb"`
}

func maxRSSMb() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024 // KiB on Linux
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func bench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:9292", "comma-separated broker addresses")
	stream := fs.String("stream", "", "stream to publish to (partition 0)")
	count := fs.Int("count", 10000, "messages to publish")
	window := fs.Int("window", 1, "unacknowledged messages at most (1 = blocking Publish)")
	size := fs.Int("size", 256, "value size in bytes")
	ackPolicy := fs.String("ack", "leader", "leader or all")
	partitions := fs.Int("partitions", 1, "message i goes to partition i % partitions")
	_ = fs.Parse(args)

	client, err := lift.Connect(strings.Split(*brokers, ","), lift.AckWaitTime(10*time.Second))
	if err != nil {
		return err
	}
	defer client.Close()
	var ackOpt lift.MessageOption = lift.AckPolicyLeader()
	if *ackPolicy == "all" {
		ackOpt = lift.AckPolicyAll()
	}
	value := make([]byte, *size)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	ctx := context.Background()

	// Warm-up: connection and metadata (one message to each partition).
	for p := 0; p < *partitions; p++ {
		if _, err := client.Publish(ctx, *stream, value, ackOpt, lift.ToPartition(int32(p))); err != nil {
			return err
		}
	}
	type span struct {
		min, max int64
		acks     int
	}
	spans := make(map[int32]*span)

	latencies := make([]time.Duration, *count)
	var (
		mu        sync.Mutex
		errors    int
		minOffset int64 = -1
		maxOffset int64 = -1
	)
	record := func(i int, start time.Time, ack *lift.Ack, err error) {
		latencies[i] = time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		if err != nil || ack == nil {
			errors++
			return
		}
		if minOffset < 0 || ack.Offset() < minOffset {
			minOffset = ack.Offset()
		}
		if ack.Offset() > maxOffset {
			maxOffset = ack.Offset()
		}
		part := int32(i % *partitions)
		sp := spans[part]
		if sp == nil {
			sp = &span{min: ack.Offset(), max: ack.Offset()}
			spans[part] = sp
		}
		if ack.Offset() < sp.min {
			sp.min = ack.Offset()
		}
		if ack.Offset() > sp.max {
			sp.max = ack.Offset()
		}
		sp.acks++
	}

	cpu0 := cpuTime()
	t0 := time.Now()
	if *window <= 1 {
		for i := 0; i < *count; i++ {
			start := time.Now()
			ack, err := client.Publish(ctx, *stream, value, ackOpt, lift.ToPartition(int32(i%*partitions)))
			record(i, start, ack, err)
		}
	} else {
		slots := make(chan struct{}, *window)
		var wg sync.WaitGroup
		wg.Add(*count)
		for i := 0; i < *count; i++ {
			slots <- struct{}{}
			i := i
			start := time.Now()
			err := client.PublishAsync(ctx, *stream, value, func(ack *lift.Ack, err error) {
				record(i, start, ack, err)
				<-slots
				wg.Done()
			}, ackOpt, lift.ToPartition(int32(i%*partitions)))
			if err != nil {
				record(i, start, nil, err)
				<-slots
				wg.Done()
			}
		}
		wg.Wait()
	}
	elapsed := time.Since(t0)
	cpu := cpuTime() - cpu0

	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	pct := func(p float64) float64 {
		idx := int(p * float64(len(latencies)-1))
		return float64(latencies[idx].Nanoseconds()) / 1000
	}
	res := result{
		Client:     "go-liftbridge",
		Window:     *window,
		Messages:   *count,
		Seconds:    elapsed.Seconds(),
		MsgPerSec:  float64(*count) / elapsed.Seconds(),
		P50Us:      pct(0.50),
		P99Us:      pct(0.99),
		CPUUsMsg:   float64(cpu.Microseconds()) / float64(*count),
		Errors:     errors,
		MinOffset:  minOffset,
		MaxOffset:  maxOffset,
		Partitions: *partitions,
		MaxRSSMb:   maxRSSMb(),
	}
	acked := 0
	res.Contiguous = len(spans) == *partitions
	for _, sp := range spans {
		acked += sp.acks
		if sp.max-sp.min+1 != int64(sp.acks) {
			res.Contiguous = false
		}
	}
	if acked != *count {
		res.Contiguous = false
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

type headerFlags map[string][]byte

func (h headerFlags) String() string { return fmt.Sprint(map[string][]byte(h)) }

func (h headerFlags) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("header %q: want name=hexvalue", s)
	}
	b, err := hex.DecodeString(value)
	if err != nil {
		return fmt.Errorf("header %q: %w", s, err)
	}
	h[name] = b
	return nil
}

func envelope(args []string) error {
	fs := flag.NewFlagSet("envelope", flag.ExitOnError)
	value := fs.String("value", "", "hex value")
	key := fs.String("key", "", "hex key (no option when empty)")
	inbox := fs.String("inbox", "", "ack inbox (no option when empty)")
	cid := fs.String("cid", "", "correlation id (no option when empty)")
	policy := fs.String("policy", "", "leader|all|none (no option when empty)")
	expected := fs.Int64("expected", -1, "expected offset (no option when -1)")
	headers := headerFlags{}
	fs.Var(headers, "header", "name=hexvalue (repeatable)")
	_ = fs.Parse(args)

	v, err := hex.DecodeString(*value)
	if err != nil {
		return err
	}
	var opts []lift.MessageOption
	if *key != "" {
		k, err := hex.DecodeString(*key)
		if err != nil {
			return err
		}
		opts = append(opts, lift.Key(k))
	}
	for name, h := range headers {
		opts = append(opts, lift.Header(name, h))
	}
	if *inbox != "" {
		opts = append(opts, lift.AckInbox(*inbox))
	}
	if *cid != "" {
		opts = append(opts, lift.CorrelationID(*cid))
	}
	switch *policy {
	case "":
	case "leader":
		opts = append(opts, lift.AckPolicyLeader())
	case "all":
		opts = append(opts, lift.AckPolicyAll())
	case "none":
		opts = append(opts, lift.AckPolicyNone())
	default:
		return fmt.Errorf("unknown policy %q", *policy)
	}
	if *expected != -1 {
		opts = append(opts, lift.ExpectedOffset(*expected))
	}
	fmt.Println(hex.EncodeToString(lift.NewMessage(v, opts...)))
	return nil
}

func latency(args []string) error {
	fs := flag.NewFlagSet("latency", flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:9292", "comma-separated broker addresses")
	stream := fs.String("stream", "", "an empty stream (partition 0 is used)")
	rate := fs.Int("rate", 1000, "offered messages per second")
	seconds := fs.Float64("seconds", 10, "measured seconds")
	warmup := fs.Float64("warmup", 2, "seconds before the measured part (latencies not kept)")
	size := fs.Int("size", 256, "value size in bytes (at least 8)")
	_ = fs.Parse(args)

	client, err := lift.Connect(strings.Split(*brokers, ","), lift.AckWaitTime(10*time.Second))
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	origin := time.Now()
	total := int(float64(*rate) * (*warmup + *seconds))
	warm := int(float64(*rate) * *warmup)
	latencies := make([]time.Duration, 0, total)
	var mu sync.Mutex
	next := int64(0)
	problems := 0
	done := make(chan struct{})
	received := 0
	err = client.Subscribe(ctx, *stream, func(msg *lift.Message, err error) {
		if err != nil {
			return
		}
		at := time.Since(origin)
		sent := time.Duration(binary.BigEndian.Uint64(msg.Value()))
		mu.Lock()
		defer mu.Unlock()
		if msg.Offset() != next {
			problems++
		}
		next = msg.Offset() + 1
		if received >= warm {
			latencies = append(latencies, at-sent)
		}
		received++
		if received == total {
			close(done)
		}
	}, lift.StartAtEarliestReceived())
	if err != nil {
		return err
	}

	value := make([]byte, *size)
	errors := 0
	var emu sync.Mutex
	start := time.Now()
	for sent := 0; sent < total; {
		due := int(time.Since(start).Seconds() * float64(*rate))
		if due > total {
			due = total
		}
		for ; sent < due; sent++ {
			v := make([]byte, len(value))
			binary.BigEndian.PutUint64(v, uint64(time.Since(origin)))
			if err := client.PublishAsync(ctx, *stream, v, func(ack *lift.Ack, err error) {
				if err != nil {
					emu.Lock()
					errors++
					emu.Unlock()
				}
			}, lift.AckPolicyLeader()); err != nil {
				errors++
			}
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		i := int(p * float64(len(latencies)-1))
		return float64(latencies[i].Nanoseconds()) / 1e3
	}
	out := map[string]any{
		"client": "go-liftbridge", "rate": *rate, "messages": len(latencies), "received": received, "total": total,
		"p50Us": pct(0.5), "p99Us": pct(0.99), "p999Us": pct(0.999), "maxUs": pct(1),
		"errors": errors, "ok": errors == 0 && problems == 0 && received == total,
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}
