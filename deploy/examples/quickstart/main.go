// Command quickstart is `make demo`: it runs podkit next to a small demo app
// as a local "pod" (a temp dir for the shared volume, loopback for the
// network) and shows how to poke at it. It stays stdlib-only so that `go run`
// never compiles the deploy module's Kubernetes and compose validators.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"
)

// Bounds on the demo's waits, so a broken build fails fast instead of hanging.
const (
	readyTimeout = 10 * time.Second
	probeTimeout = 5 * time.Second
	// Longer than podkit's default --shutdown-timeout (10s), so podkit gets
	// to finish its own graceful stop before we escalate.
	stopGrace = 15 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type config struct {
	self        string // this executable, re-run with appMode for the demo app
	podkit      string
	duration    time.Duration
	appAddr     string
	runAdmin    string
	healthAdmin string
	volume      string // the pod volume, a temp dir; set before pod() is called
	mc          memcacheConfig
	metrics     metricsConfig
	logsaver    logsaverConfig
	gitsync     gitsyncConfig
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.podkit, "podkit", "../bin/podkit", "podkit binary (built by `make build`)")
	fs.DurationVar(&cfg.duration, "duration", 0, "stop by itself after this long once ready; 0 runs until Ctrl-C")
	fs.StringVar(&cfg.appAddr, "app-addr", "127.0.0.1:8080", "demo app listen address")
	fs.StringVar(&cfg.runAdmin, "run-admin", "127.0.0.1:9702", "podkit run --admin-addr (the app's init)")
	fs.StringVar(&cfg.healthAdmin, "health-admin", "127.0.0.1:9701", "podkit health --admin-addr")
	fs.StringVar(&cfg.mc.mode, "memcached", "auto", "memcached for memcache-proxy: auto finds it (as root, installs it with apt-get), off leaves memcache-proxy out, or a path")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if cfg.duration < 0 {
		return cfg, fmt.Errorf("-duration must be >= 0 (got %s)", cfg.duration)
	}
	for _, a := range []string{cfg.appAddr, cfg.runAdmin, cfg.healthAdmin} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return cfg, fmt.Errorf("bad address: %w", err)
		}
	}
	return cfg, nil
}

// run is main without the process: it returns the exit code, so tests can
// drive the whole demo in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == appMode {
		return runApp(ctx, args[1:], stderr)
	}
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "quickstart:", err)
		return 2
	}
	if err := cfg.resolve(); err != nil {
		fmt.Fprintln(stderr, "quickstart:", err)
		return 1
	}
	if err := cfg.resolveMetrics(); err != nil {
		fmt.Fprintln(stderr, "quickstart:", err)
		return 1
	}
	if err := cfg.resolveLogsaver(); err != nil {
		fmt.Fprintln(stderr, "quickstart:", err)
		return 1
	}
	if err := cfg.resolveGitsync(); err != nil {
		fmt.Fprintln(stderr, "quickstart:", err)
		return 1
	}
	if err := cfg.resolveMemcache(ctx, stdout); err != nil {
		fmt.Fprintln(stderr, "quickstart:", err)
		return 1
	}
	if ctx.Err() != nil {
		return 1 // interrupted while installing memcached
	}
	// Before pod(): the file sink's URL names the volume by absolute path.
	volume, err := os.MkdirTemp("", "podkit-demo-")
	if err != nil {
		fmt.Fprintln(stderr, "quickstart:", err)
		return 1
	}
	cfg.volume = volume
	specs := pod(cfg)
	if err := checkFree(specs); err != nil {
		fmt.Fprintln(stderr, "quickstart:", err)
		os.RemoveAll(volume)
		return 1
	}

	con := newConsole(stdout, append(names(specs), "probe")...)
	con.printf("==> podkit: %s\n", cfg.podkit)
	con.printf("==> pod volume: %s (every container's working directory)\n", volume)
	if cfg.mc.skipped != "" {
		con.printf("==> memcache-proxy: skipped, the demo runs without it: %s\n", cfg.mc.skipped)
	}

	ok := true
	exits := make(chan *child, len(specs))
	var children []*child
	for _, s := range specs {
		con.printf("==> starting %s\n", s.name)
		c, err := start(s, volume, con, exits)
		if err == nil {
			children = append(children, c)
			err = c.waitReady(ctx, readyTimeout)
		}
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintf(stderr, "quickstart: %v\n", err)
				ok = false
			}
			break
		}
		con.printf("==> %s ready\n", s.name)
	}

	if ok && ctx.Err() == nil {
		ok = showProbe(ctx, cfg, con)
		ok = showMetrics(ctx, cfg, con) && ok
		ok = showLogsaver(ctx, cfg, con) && ok
		if cfg.mc.bin != "" {
			ok = showMemcache(ctx, cfg, con) && ok
		}
		ok = showGitsync(ctx, cfg, con) && ok
		printTable(con, cfg, children)
		stopCommits := publishCommits(cfg, con)
		ok = wait(ctx, cfg.duration, con, exits) && ok
		stopCommits()
	}

	con.printf("==> stopping: SIGTERM to every container\n")
	ok = stopAll(children, stopGrace, con) && ok
	if err := os.RemoveAll(volume); err != nil {
		fmt.Fprintln(stderr, "quickstart:", err)
		ok = false
	} else {
		con.printf("==> removed %s\n", volume)
	}
	if !ok {
		return 1
	}
	return 0
}

func (cfg *config) resolve() error {
	p, err := filepath.Abs(cfg.podkit)
	if err != nil {
		return err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("podkit binary not found at %s: run `make build` first (or pass -podkit PATH)", p)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file: run `make build` first (or pass -podkit PATH)", p)
	}
	cfg.podkit = p
	if cfg.self, err = os.Executable(); err != nil {
		return fmt.Errorf("finding this executable to re-run as the demo app: %w", err)
	}
	return nil
}

// checkFree refuses ports that are taken: otherwise a readiness check could
// be answered by whatever already listens there, and the demo would lie.
func checkFree(specs []container) error {
	for _, s := range specs {
		for _, p := range append([]port{{s.addr, s.addrFlag}}, s.also...) {
			l, err := net.Listen("tcp", p.addr)
			if err != nil && p.flag == "" {
				return fmt.Errorf("%s: %s, free a moment ago, is taken (%v); run again", s.name, p.addr, err)
			}
			if err != nil {
				return fmt.Errorf("%s: %s is not free (%v); pick another with %s", s.name, p.addr, err, p.flag)
			}
			l.Close()
		}
	}
	return nil
}

// showProbe runs the command a Kubernetes exec probe or a compose
// healthcheck would, since those cannot reach loopback with httpGet.
func showProbe(ctx context.Context, cfg config, con *console) bool {
	url := "http://" + cfg.appAddr + "/healthz"
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	w := con.prefixed("probe")
	cmd := exec.CommandContext(pctx, cfg.podkit, "probe", url)
	cmd.Stdout, cmd.Stderr = w, w
	_ = cmd.Run() // the exit code is the result
	w.flush()
	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	con.printf("==> exec probe: podkit probe %s -> exit %d\n", url, code)
	return code == 0 || ctx.Err() != nil // Ctrl-C is no probe failure
}

func printTable(con *console, cfg config, children []*child) {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "\nCONTAINER\tPID\tURL")
	for _, c := range children {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", c.name, c.cmd.Process.Pid, c.url())
	}
	tw.Flush()
	b.WriteString("\nTry:\n")
	for _, c := range children {
		for _, t := range c.try {
			fmt.Fprintf(&b, "  %s\n", t)
		}
	}
	fmt.Fprintf(&b, "  %s probe http://%s/healthz; echo $?\n\n", cfg.podkit, cfg.appAddr)
	con.write(b.Bytes())
}

// wait runs the pod until Ctrl-C, -duration or a container exiting on its
// own; the last one is a failure, as nothing here is meant to finish.
func wait(ctx context.Context, d time.Duration, con *console, exits <-chan *child) bool {
	var timeout <-chan time.Time
	if d > 0 {
		con.printf("==> running; stopping by itself after %s\n", d)
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	} else {
		con.printf("==> running; Ctrl-C to stop\n")
	}
	select {
	case <-ctx.Done():
		con.printf("==> interrupted\n")
	case <-timeout:
		con.printf("==> %s elapsed\n", d)
	case c := <-exits:
		con.printf("==> %s exited on its own (%s)\n", c.name, exitText(c.cmd.ProcessState))
		return false
	}
	return true
}
