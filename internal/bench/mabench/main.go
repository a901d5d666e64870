// Command mabench is the figures of issue 5: podkit metrics-adapter against
// prometheus/statsd_exporter v0.31.0, the adapter it replaces, side by side
// in one run. It starts both servers with the same UDP read buffer (the OS
// default, then 4 MiB), drives them with statsdload's engine in process and
// reports medians over rounds, targets alternating round by round on this
// small, noisy machine:
//
//   - the highest UDP rate with under 0.1% loss (a short search per round:
//     up or down until it has a lossless and a lossy rate, then bisecting),
//     1400-byte datagrams of counter lines from several source ports;
//   - CPU seconds per million lines at one UDP rate both take, and at each
//     one's highest lossless rate (/proc/PID/stat);
//   - TCP flat out over one connection;
//   - RSS idle, at 1k and 100k counter series, and after each of N scrapes
//     (flat or growing), then again for 100k timer series (summaries);
//   - /metrics scrape time at 100k series with Accept-Encoding: gzip.
//
// Received lines are counted from /metrics: every counter line adds 1 to
// its series, so the sum over the family is what arrived. The load
// generator runs in this process and shares the cores with the servers.
// `make mabench` runs it (part of `make bench`).
//
//	go run ./internal/bench/mabench -bin bin/podkit -rounds 3 -step 1s
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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/podkit/podkit/internal/bench/benchkit"
	"github.com/podkit/podkit/internal/bench/statsdload/load"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

var allTargets = []string{"podkit", "statsd_exporter"}

// options are mabench's flags.
type options struct {
	rounds       int
	step         time.Duration
	steps        int
	buffers      []int // -1: the OS default
	series       int
	size         int
	oneLine      bool
	sockets      int
	maxLoss      float64
	cpuRate      float64
	cpuDuration  time.Duration
	tcpDuration  time.Duration
	memSeries    []int
	scrapes      int
	timerSeries  int
	timerScrapes int
}

// runner holds a bench's options, servers and prebuilt payloads.
type runner struct {
	opts     options
	env      *env
	payloads map[string]*load.Payload
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mabench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o        options
		b        bins
		maxSer   int
		buffers  = fs.String("buffers", "default,4MiB", "UDP read buffers to compare at, comma-separated: default (the OS's), or bytes with an optional KiB or MiB")
		memSer   = fs.String("mem-series", "1000,100000", "counter series counts at which RSS is read, comma-separated, ascending; the last is scraped")
		targetsF = fs.String("targets", strings.Join(allTargets, ","), "targets, comma-separated, of "+strings.Join(allTargets, ", "))
		asJSON   = fs.Bool("json", false, "print every figure as JSON instead of the tables")
	)
	fs.StringVar(&b.podkit, "bin", "bin/podkit", "podkit binary")
	fs.StringVar(&b.statsdExporter, "statsd-exporter", "", "statsd_exporter binary (default: on PATH, or $(go env GOPATH)/bin)")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; figures are medians over them")
	fs.DurationVar(&o.step, "step", time.Second, "sending time of each step of the UDP rate search")
	fs.IntVar(&o.steps, "steps", 5, "steps of the UDP rate search per target and round (the first round adds a flat-out probe)")
	fs.IntVar(&o.series, "series", 1000, "counter series of the rate and CPU runs")
	fs.IntVar(&o.size, "size", 1400, "bytes per datagram, lines packed whole")
	fs.BoolVar(&o.oneLine, "one-line", false, "one line per datagram in the UDP runs")
	fs.IntVar(&o.sockets, "sockets", 4, "UDP source sockets of the sender (SO_REUSEPORT spreads source ports over a server's readers)")
	fs.Float64Var(&o.maxLoss, "max-loss", 0.001, "loss (a fraction) a lossless step stays under")
	fs.Float64Var(&o.cpuRate, "cpu-rate", 100000, "UDP lines/s of the CPU run, the same for every target")
	fs.DurationVar(&o.cpuDuration, "cpu-duration", 2*time.Second, "sending time of the CPU run")
	fs.DurationVar(&o.tcpDuration, "tcp-duration", 2*time.Second, "sending time of the TCP flat-out run (0: none)")
	fs.IntVar(&o.scrapes, "scrapes", 10, "timed scrapes of each target at the last -mem-series")
	fs.IntVar(&o.timerSeries, "timer-series", 100000, "timer series of the summary memory run (0: none)")
	fs.IntVar(&o.timerScrapes, "timer-scrapes", 5, "timed scrapes at -timer-series")
	fs.IntVar(&maxSer, "max-series", 300000, "podkit --max-series")
	if code, ok := benchkit.Parse(fs, args); !ok {
		return code
	}
	usage := func(err error) int { return benchkit.Usage(fs, err) }
	var err error
	if o.buffers, err = parseBuffers(*buffers); err != nil {
		return usage(err)
	}
	if o.memSeries, err = benchkit.Ints("-mem-series", *memSer); err != nil || !slices.IsSorted(o.memSeries) {
		return usage(fmt.Errorf("-mem-series: want ascending positive integers, comma-separated (got %q)", *memSer))
	}
	names, err := benchkit.Targets(*targetsF, allTargets)
	if err != nil {
		return usage(err)
	}
	switch {
	case fs.NArg() > 0:
		return usage(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	case o.rounds < 1:
		return usage(fmt.Errorf("-rounds: must be >= 1 (got %d)", o.rounds))
	case o.step <= 0:
		return usage(fmt.Errorf("-step: must be > 0 (got %s)", o.step))
	case o.steps < 1:
		return usage(fmt.Errorf("-steps: must be >= 1 (got %d)", o.steps))
	case o.cpuRate <= 0 || o.cpuDuration <= 0:
		return usage(fmt.Errorf("-cpu-rate and -cpu-duration: must be > 0"))
	case o.maxLoss <= 0 || o.maxLoss >= 1:
		return usage(fmt.Errorf("-max-loss: want a fraction above 0 and below 1 (got %g)", o.maxLoss))
	case o.scrapes < 1 || o.timerScrapes < 1:
		return usage(fmt.Errorf("-scrapes and -timer-scrapes: must be >= 1"))
	case o.series < 1 || o.timerSeries < 0 || o.sockets < 1:
		return usage(fmt.Errorf("-series and -sockets: must be >= 1; -timer-series >= 0"))
	case maxSer < max(o.memSeries[len(o.memSeries)-1], o.timerSeries, o.series):
		return usage(fmt.Errorf("-max-series: %d is below the series loaded", maxSer))
	}
	if err := (load.Config{Addr: "x", Size: o.size}).Validate(); err != nil {
		return usage(fmt.Errorf("-size: %w", err))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := bench(ctx, o, b, names, maxSer, stderr)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %w", err)
		}
		fmt.Fprintln(stderr, "mabench:", err)
		return 1
	}
	if err := benchkit.Print(stdout, *asJSON, r, r.writeTable); err != nil {
		fmt.Fprintln(stderr, "mabench:", err)
		return 1
	}
	return 0
}

// bench runs every phase and stops everything it started.
func bench(ctx context.Context, o options, b bins, names []string, maxSeries int, log io.Writer) (*report, error) {
	t0 := time.Now()
	var err error
	if slices.Contains(names, "statsd_exporter") {
		if b.statsdExporter, err = findStatsdExporter(b.statsdExporter); err != nil {
			return nil, err
		}
	}
	if slices.Contains(names, "podkit") {
		if _, err := os.Stat(b.podkit); err != nil {
			return nil, fmt.Errorf("-bin: %w (make build)", err)
		}
	}
	dir, err := os.MkdirTemp("", "mabench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	client := load.Client()
	defer client.CloseIdleConnections()
	r := &runner{opts: o, env: &env{bins: b, dir: dir, client: client, maxSeries: maxSeries}, payloads: map[string]*load.Payload{}}
	nice := 0
	if err := setNice(0, loadNice); err == nil {
		r.env.nice, nice = true, loadNice
	} else {
		fmt.Fprintf(log, "mabench: cannot raise the load generator's priority (%v): it competes with the servers as an equal\n", err)
	}

	rep := &report{
		Versions: versions(b, names), Cores: runtime.NumCPU(), Targets: names, Options: o.public(),
		RmemDefault: sysctl("/proc/sys/net/core/rmem_default"), RmemMax: sysctl("/proc/sys/net/core/rmem_max"),
		LoadNice: nice,
	}
	if rep.Searches, rep.CPU, rep.TCP, err = r.ratePhase(ctx, names, log); err != nil {
		return nil, err
	}
	if rep.Memory, err = r.memoryPhase(ctx, names, "counter", o.memSeries, o.scrapes, log); err != nil {
		return nil, err
	}
	if o.timerSeries > 0 {
		m, err := r.memoryPhase(ctx, names, "timer", []int{o.timerSeries}, o.timerScrapes, log)
		if err != nil {
			return nil, err
		}
		rep.Memory = append(rep.Memory, m...)
	}
	rep.Seconds = time.Since(t0).Seconds()
	return rep, nil
}

// versions names what was measured, from each program's own version flag.
func versions(b bins, names []string) map[string]string {
	v := map[string]string{}
	first := func(bin string, args ...string) string {
		out, _ := exec.Command(bin, args...).CombinedOutput()
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return line
	}
	if slices.Contains(names, "statsd_exporter") {
		// A go-installed statsd_exporter has no version stamped in; its
		// build info has the module's.
		v["statsd_exporter"] = "statsd_exporter " + moduleVersion(b.statsdExporter)
	}
	if slices.Contains(names, "podkit") {
		v["podkit"] = first(b.podkit, "version")
	}
	return v
}

// moduleVersion is the main module's version in bin's build info (go
// version -m), or "(version unknown)".
func moduleVersion(bin string) string {
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err == nil {
		for line := range strings.SplitSeq(string(out), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" {
				return f[2]
			}
		}
	}
	return "(version unknown)"
}

func sysctl(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// parseBuffers reads -buffers: "default" is -1.
func parseBuffers(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "default" {
			out = append(out, -1)
			continue
		}
		mult := 1
		if n, ok := strings.CutSuffix(f, "MiB"); ok {
			f, mult = n, 1<<20
		} else if n, ok := strings.CutSuffix(f, "KiB"); ok {
			f, mult = n, 1<<10
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-buffers: want default or sizes such as 4MiB, comma-separated (got %q)", s)
		}
		out = append(out, n*mult)
	}
	return out, nil
}
