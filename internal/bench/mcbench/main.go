// Command mcbench is the figures of issue 4: podkit memcache-proxy against
// twemproxy (Debian's nutcracker), the ambassador it replaces, and against
// one memcached directly, the limit. It starts two memcached, gives both
// proxies the same twemproxy pool file, and drives each target in process
// with mcload's engine (get:set 9:1, 100-byte values, single gets and
// multigets of 10, at 4, 32 and 128 connections), alternating the order of
// targets round by round on this small, noisy machine and reporting
// medians: ops/s, p99, proxy CPU per million requests, and proxy RSS idle,
// after load and after settling. A value that fails verification makes the
// exit code 1. `make mcbench` runs it (part of `make bench`).
//
//	go run ./internal/bench/mcbench -bin bin/podkit -duration 3s -rounds 3
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/podkit/podkit/internal/bench/benchkit"
)

// idleWait is how long the proxies idle before their idle RSS is read.
const idleWait = 3 * time.Second

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

var allTargets = []string{"direct", "nutcracker", "podkit"}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mcbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o         options
		b         bins
		conns     = fs.String("conns", "4,32,128", "connection counts, comma-separated")
		multiget  = fs.String("multiget", "1,10", "keys per get of each workload, comma-separated (1: single-key gets)")
		targetsF  = fs.String("targets", strings.Join(allTargets, ","), "targets, comma-separated, of "+strings.Join(allTargets, ", "))
		asJSON    = fs.Bool("json", false, "print every figure as JSON instead of the tables")
		maxErrors = fs.Int64("max-errors", 0, "per run, errors other than verification errors allowed (verification errors always fail)")
	)
	fs.StringVar(&b.podkit, "bin", "bin/podkit", "podkit binary")
	fs.StringVar(&b.memcached, "memcached", "", "memcached binary (default: memcached on PATH, /usr/bin, /usr/sbin)")
	fs.StringVar(&b.nutcracker, "nutcracker", "", "nutcracker binary (default: nutcracker on PATH, /usr/sbin, /usr/bin)")
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "measured phase of each run")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; figures are medians over them")
	fs.DurationVar(&o.settle, "settle", 35*time.Second, "idle wait after the load, sampling proxy RSS each second (podkit returns memory on its own timer)")
	fs.IntVar(&o.keys, "keys", 10000, "key space")
	fs.IntVar(&o.valueSize, "value-size", 100, "value bytes")
	if code, ok := benchkit.Parse(fs, args); !ok {
		return code
	}
	usage := func(err error) int { return benchkit.Usage(fs, err) }
	var err error
	if o.conns, err = benchkit.Ints("-conns", *conns); err != nil {
		return usage(err)
	}
	if o.multiget, err = benchkit.Ints("-multiget", *multiget); err != nil {
		return usage(err)
	}
	names, err := benchkit.Targets(*targetsF, allTargets)
	if err != nil {
		return usage(err)
	}
	switch {
	case fs.NArg() > 0:
		return usage(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	case o.duration <= 0:
		return usage(fmt.Errorf("-duration: must be > 0 (got %s)", o.duration))
	case o.rounds < 1:
		return usage(fmt.Errorf("-rounds: must be >= 1 (got %d)", o.rounds))
	case o.settle < 0:
		return usage(fmt.Errorf("-settle: must be >= 0 (got %s)", o.settle))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := bench(ctx, o, b, names, *maxErrors, stderr)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %w", err)
		}
		fmt.Fprintln(stderr, "mcbench:", err)
		return 1
	}
	if err := benchkit.Print(stdout, *asJSON, r, r.writeTable); err != nil {
		fmt.Fprintln(stderr, "mcbench:", err)
		return 1
	}
	if len(r.Failures) > 0 {
		fmt.Fprintf(stderr, "mcbench: FAILED: %d runs failed their checks:\n  %s\n", len(r.Failures), strings.Join(r.Failures, "\n  "))
		return 1
	}
	return 0
}

// bench starts the servers, measures, and stops everything it started.
func bench(ctx context.Context, o options, b bins, names []string, maxErrors int64, log io.Writer) (*report, error) {
	var err error
	if b.memcached, err = findBin("memcached", b.memcached); err != nil {
		return nil, err
	}
	if slices.Contains(names, "nutcracker") {
		if b.nutcracker, err = findBin("nutcracker", b.nutcracker); err != nil {
			return nil, err
		}
	}
	if slices.Contains(names, "podkit") {
		if _, err := os.Stat(b.podkit); err != nil {
			return nil, fmt.Errorf("-bin: %w (make build)", err)
		}
	}
	dir, err := os.MkdirTemp("", "mcbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	s := &servers{dir: dir}
	defer s.stopAll()

	if err := s.startMemcached(b.memcached, 2); err != nil {
		return nil, err
	}
	var targets []target
	for _, n := range names {
		t := target{Name: n, Proxy: n != "direct"}
		switch n {
		case "direct":
			t.p, t.Addr = s.memcached[0], s.backends[0]
		case "nutcracker":
			t.p, t.Addr, err = s.startNutcracker(b.nutcracker)
		case "podkit":
			t.p, t.Addr, err = s.startPodkit(b.podkit)
		}
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t.PID = t.p.PID()
		targets = append(targets, t)
	}
	var proxies []target
	for _, t := range targets {
		if t.Proxy {
			proxies = append(proxies, t)
		}
	}
	// Idle as a sidecar idles: a few seconds after start (podkit's daemons
	// give back their start-up pages after two).
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(idleWait):
	}
	mem := make([]memory, len(proxies))
	for i, t := range proxies {
		mem[i].Target = t.Name
		if mem[i].IdleKiB, err = benchkit.RSSKiB(t.PID); err != nil {
			return nil, err
		}
	}

	points, err := measure(ctx, o, targets, log)
	if err != nil {
		return nil, err
	}
	for i, t := range proxies {
		if mem[i].LoadedKiB, err = benchkit.RSSKiB(t.PID); err != nil {
			return nil, fmt.Errorf("%s after load: %w", t.Name, err)
		}
	}
	if o.settle > 0 {
		fmt.Fprintf(log, "mcbench: settling %s, sampling proxy RSS each second\n", o.settle)
	}
	if err := settle(ctx, o.settle, proxies, mem); err != nil {
		return nil, err
	}

	r := &report{
		Versions: versions(b, names),
		Cores:    runtime.NumCPU(),
		Duration: o.duration.String(),
		Rounds:   o.rounds,
		Keys:     o.keys,
		Value:    o.valueSize,
		Targets:  targets,
		Points:   points,
		Memory:   mem,
	}
	r.summarize(maxErrors)
	return r, nil
}

// versions names what was measured, from each program's own version flag.
func versions(b bins, names []string) map[string]string {
	v := map[string]string{}
	first := func(bin string, args ...string) string {
		out, _ := exec.Command(bin, args...).CombinedOutput() // nutcracker -V writes to stderr
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return strings.TrimPrefix(line, "This is ")
	}
	v["memcached"] = first(b.memcached, "-V")
	if slices.Contains(names, "nutcracker") {
		v["nutcracker"] = first(b.nutcracker, "-V")
	}
	if slices.Contains(names, "podkit") {
		v["podkit"] = first(b.podkit, "version")
	}
	return v
}
