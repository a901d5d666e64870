// Command mcload is a load generator for the memcached text protocol that
// verifies every value it reads: the measuring stick of issue 4 (podkit
// memcache-proxy, a drop-in for twemproxy/nutcracker) against memcached
// directly, nutcracker and podkit. It runs a closed loop of get (multiget)
// and set requests over many connections, pipelined if asked, and reports
// ops/s, hit ratio, latency p50/p99/p99.9 per request, errors, and its own
// CPU time (plus that of -pid processes, the target), as a table or JSON.
//
// Every value carries its key, a version and a checksum: a get that returns
// another key's value, a truncated or altered value, a stale version or a
// mangled response is counted, and the exit code is 1. Usage errors exit 2.
//
//	go run ./internal/bench/mcload -addr 127.0.0.1:22121 -conns 32 -ratio 9:1 -multiget 10 -duration 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/podkit/podkit/internal/bench/benchkit"
	"github.com/podkit/podkit/internal/bench/mcload/load"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mcload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg       load.Config
		addrs     = fs.String("addr", "127.0.0.1:11211", "target `host:port`s, comma-separated; connections take them in turn, and all must serve the same data")
		ratio     = fs.String("ratio", "9:1", "`get:set` ratio of requests")
		pids      = fs.String("pid", "", "`pid`s, comma-separated, whose CPU time (/proc/PID/stat) is reported for the measured phase")
		asJSON    = fs.Bool("json", false, "print the result as JSON instead of a table")
		maxErrors = fs.Int64("max-errors", 0, "exit 1 when errors other than verification errors exceed this (verification errors always fail)")
	)
	fs.IntVar(&cfg.Conns, "conns", 4, "connections")
	fs.IntVar(&cfg.Keys, "keys", 10000, "key space: keys PREFIX0 ... PREFIX(N-1)")
	fs.StringVar(&cfg.KeyPrefix, "key-prefix", "mcload:", "key prefix")
	fs.IntVar(&cfg.ValueSize, "value-size", 100, "value `bytes`")
	fs.IntVar(&cfg.Multiget, "multiget", 1, "keys per get request")
	fs.IntVar(&cfg.Pipeline, "pipeline", 1, "requests in flight per connection")
	fs.DurationVar(&cfg.Duration, "duration", 0, "length of the measured phase (default 10s unless -n is given)")
	fs.Int64Var(&cfg.Ops, "n", 0, "end the measured phase after this many requests (and -duration, if also given, whichever first)")
	fs.BoolVar(&cfg.Warmup, "warmup", true, "set every key once before measuring, so that gets hit")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed: the request mix and keys of each connection follow from it")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "longest wait for one read or write")
	if code, ok := benchkit.Parse(fs, args); !ok {
		return code
	}
	usage := func(err error) int { return benchkit.Usage(fs, err) }
	if fs.NArg() > 0 {
		return usage(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	cfg.Addrs = benchkit.Split(*addrs)
	g, s, ok := strings.Cut(*ratio, ":")
	var err1, err2 error
	cfg.GetWeight, err1 = strconv.Atoi(g)
	cfg.SetWeight, err2 = strconv.Atoi(s)
	if !ok || err1 != nil || err2 != nil || cfg.GetWeight < 0 || cfg.SetWeight < 0 || cfg.GetWeight+cfg.SetWeight == 0 {
		return usage(fmt.Errorf("-ratio: want GET:SET, two integers >= 0 not both 0 (got %q)", *ratio))
	}
	for _, p := range benchkit.Split(*pids) {
		pid, err := strconv.Atoi(p)
		if err != nil || pid <= 0 {
			return usage(fmt.Errorf("-pid: %q is not a process id", p))
		}
		cfg.PIDs = append(cfg.PIDs, pid)
	}
	if err := cfg.Validate(); err != nil {
		return usage(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := load.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "mcload:", err)
		return 1
	}
	if err := benchkit.Print(stdout, *asJSON, res, res.WriteTable); err != nil {
		fmt.Fprintln(stderr, "mcload:", err)
		return 1
	}
	if err := res.Check(*maxErrors); err != nil {
		fmt.Fprintln(stderr, "mcload: FAILED:", err)
		return 1
	}
	return 0
}
