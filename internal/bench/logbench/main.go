// Command logbench is the figures of issue 6: podkit logsaver's delivered
// lines/s to the http and file sinks, its CPU seconds per million lines and
// peak RSS, and the fault scenarios, each of which must lose no line:
//
//   - throughput: a backlog of -lines numbered 100-byte lines in one file,
//     shipped as NDJSON records to a logtest.Receiver on a loopback
//     listener in this process, or to a file:// sink whose files are
//     counted; timed from the process's start until the last line arrived;
//     CPU from /proc/PID/stat, peak RSS from VmHWM;
//   - rotation every -rotate-every while a logtest.Writer appends at -rate:
//     rename+create, copytruncate (the glob takes in the copies),
//     delete-after-rename (the renamed file is deleted at the next
//     rotation);
//   - -kills kill -9s of logsaver while it ships (rename rotation going on),
//     each restarted -down later with the same --state-dir;
//   - a -outage of the http sink (503, then apart 429 with Retry-After)
//     at -outage-rate with a small --max-buffer-bytes: RSS must stay
//     bounded and the backlog drain after it.
//
// In the fault scenarios podkit ships to an http and a file sink at once;
// both are checked line by line (logtest.Tally): missing lines are loss,
// duplicates are reported (allowed from in-flight batches).
//
// The reference (-targets reference) is the ~200-line tail→HTTP shipper
// the issue measured, in naive.go: polling, NDJSON POSTs, no checkpoint.
// It runs the same http runs, to show what podkit must not do.
// `make logbench` runs it (part of `make bench`).
//
//	go run ./internal/bench/logbench -bin bin/podkit -lines 2000000 -rounds 3
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

func main() {
	if os.Getenv(naiveEnv) == "1" {
		os.Exit(naiveMain(os.Args[1:], os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const (
	tPodkit    = "podkit"
	tReference = "reference"
)

var (
	allTargets   = []string{tPodkit, tReference}
	allSinks     = []string{"http", "file"}
	allScenarios = []string{"rename", "copytruncate", "delete", "kill9", "outage503", "outage429"}
)

// options are logbench's flags.
type options struct {
	bin         string
	targets     []string
	sinks       []string
	scenarios   []string
	lines       int64
	rounds      int
	lineSize    int
	rate        float64
	duration    time.Duration
	rotateEvery time.Duration
	kills       int
	down        time.Duration
	outage      time.Duration
	outageRate  float64
	maxBuffer   string
	settle      time.Duration
	timeout     time.Duration
	extra       []string
	keep        bool
	asJSON      bool
}

func parseOptions(args []string, stderr io.Writer) (o options, code int, ok bool) {
	fs := flag.NewFlagSet("logbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	targets := fs.String("targets", strings.Join(allTargets, ","), "shippers, comma-separated, of "+strings.Join(allTargets, ", ")+" (the naive reference shipper)")
	sinksF := fs.String("sinks", strings.Join(allSinks, ","), "sinks of the throughput runs, comma-separated, of "+strings.Join(allSinks, ", ")+" (the reference has http only)")
	scen := fs.String("scenarios", strings.Join(allScenarios, ","), "fault scenarios, comma-separated, of "+strings.Join(allScenarios, ", ")+"; none: -scenarios ''")
	extra := fs.String("podkit-args", "", "extra podkit logsaver flags, space-separated (e.g. '--batch-bytes 4MiB')")
	fs.StringVar(&o.bin, "bin", "bin/podkit", "podkit binary")
	fs.Int64Var(&o.lines, "lines", 2_000_000, "lines of the throughput backlog (0: no throughput runs)")
	fs.IntVar(&o.rounds, "rounds", 3, "throughput rounds; figures are medians over them")
	fs.IntVar(&o.lineSize, "line-size", 100, "bytes per line with its newline")
	fs.Float64Var(&o.rate, "rate", 20000, "lines/s the writer appends in the rotation and kill scenarios")
	fs.DurationVar(&o.duration, "duration", 6*time.Second, "writing time of each fault scenario")
	fs.DurationVar(&o.rotateEvery, "rotate-every", time.Second, "rotation interval of the rotation and kill scenarios")
	fs.IntVar(&o.kills, "kills", 2, "kill -9s in the kill9 scenario, spread over -duration")
	fs.DurationVar(&o.down, "down", 500*time.Millisecond, "time between a kill -9 and the restart")
	fs.DurationVar(&o.outage, "outage", 4*time.Second, "sink outage of the outage scenarios, from -duration/6")
	fs.Float64Var(&o.outageRate, "outage-rate", 100000, "lines/s the writer appends in the outage scenarios")
	fs.StringVar(&o.maxBuffer, "max-buffer", "1MiB", "podkit --max-buffer-bytes in the outage scenarios")
	fs.DurationVar(&o.settle, "settle", 5*time.Second, "after the writer ends, how long delivery may make no progress before the run ends short")
	fs.DurationVar(&o.timeout, "timeout", 90*time.Second, "longest wait for one run's lines")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (inputs, outputs, logs) and print its path")
	fs.BoolVar(&o.asJSON, "json", false, "print every figure as JSON instead of the tables")
	if code, ok := benchkit.Parse(fs, args); !ok {
		return o, code, false
	}
	usage := func(err error) (options, int, bool) { return o, benchkit.Usage(fs, err), false }
	var err error
	if o.targets, err = benchkit.Targets(*targets, allTargets); err != nil {
		return usage(err)
	}
	if o.sinks, err = list("-sinks", *sinksF, allSinks); err != nil {
		return usage(err)
	}
	if o.scenarios, err = list("-scenarios", *scen, allScenarios); err != nil {
		return usage(err)
	}
	o.extra = strings.Fields(*extra)
	switch {
	case fs.NArg() > 0:
		return usage(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	case o.lines < 0 || o.rounds < 1:
		return usage(fmt.Errorf("-lines: must be >= 0, -rounds >= 1"))
	case o.lineSize < 40:
		return usage(fmt.Errorf("-line-size: must be >= 40 (got %d)", o.lineSize))
	case o.rate <= 0 || o.outageRate <= 0:
		return usage(fmt.Errorf("-rate and -outage-rate: must be > 0"))
	case o.duration <= 0 || o.rotateEvery <= 0 || o.outage <= 0 || o.settle <= 0 || o.timeout <= 0:
		return usage(fmt.Errorf("-duration, -rotate-every, -outage, -settle and -timeout: must be > 0"))
	case o.kills < 1 || o.down < 0:
		return usage(fmt.Errorf("-kills: must be >= 1, -down >= 0"))
	}
	return o, 0, true
}

// list reads a comma-separated subset of all; "" is none.
func list(flagName, s string, all []string) ([]string, error) {
	names := benchkit.Split(s)
	for _, n := range names {
		if !slices.Contains(all, n) {
			return nil, fmt.Errorf("%s: unknown %q (want some of %s)", flagName, n, strings.Join(all, ","))
		}
	}
	return names, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, code, ok := parseOptions(args, stderr)
	if !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := bench(ctx, o, stderr)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %w", err)
		}
		fmt.Fprintln(stderr, "logbench:", err)
		return 1
	}
	if err := benchkit.Print(stdout, o.asJSON, r, r.writeTable); err != nil {
		fmt.Fprintln(stderr, "logbench:", err)
		return 1
	}
	if r.Failures > 0 {
		// The figures are printed; the exit status says a goal of zero
		// loss (or a clean exit) was not met by podkit.
		fmt.Fprintf(stderr, "logbench: %d podkit run(s) lost lines or did not exit cleanly\n", r.Failures)
		return 1
	}
	return 0
}

// bench runs everything and stops everything it started.
func bench(ctx context.Context, o options, log io.Writer) (*report, error) {
	t0 := time.Now()
	if slices.Contains(o.targets, tPodkit) {
		if err := checkPodkit(o.bin); err != nil {
			return nil, err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "logbench-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintln(log, "logbench: work directory", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b := &runner{opts: o, dir: dir, self: self, log: log}
	rep := &report{Version: podkitVersion(o.bin, o.targets), Cores: runtime.NumCPU(), Options: o.public()}
	if rep.Throughput, err = b.throughputPhase(ctx); err != nil {
		return nil, err
	}
	if rep.Faults, err = b.faultPhase(ctx); err != nil {
		return nil, err
	}
	rep.Seconds = time.Since(t0).Seconds()
	rep.Failures = rep.failures()
	return rep, nil
}

// checkPodkit fails unless bin has the logsaver subcommand.
func checkPodkit(bin string) error {
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("-bin: %w (make build)", err)
	}
	out, err := exec.Command(bin, "logsaver", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--state-dir") {
		return fmt.Errorf("%s has no logsaver subcommand (podkit logsaver --help: %v)\n%s", bin, err, firstLines(string(out), 5))
	}
	return nil
}

func podkitVersion(bin string, targets []string) string {
	if !slices.Contains(targets, tPodkit) {
		return ""
	}
	out, _ := exec.Command(bin, "version").CombinedOutput()
	return firstLines(strings.TrimSpace(string(out)), 1)
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
