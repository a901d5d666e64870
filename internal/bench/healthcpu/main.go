// Command healthcpu measures what `podkit health` costs with many checks, the
// figure multiplied by every pod that runs it as a probe sidecar: CPU (% of
// one core, from utime+stime in /proc/PID/stat) and RSS with 50 HTTP checks
// at period=1s against a local server this command runs itself; then the
// latency of /healthz and /readyz while some checks hang. Goals (issue 3):
// under 1% of a core, under 15 MiB RSS, /healthz under 10 ms.
// `make healthcpu` runs it (part of `make bench`).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100
// on every Linux architecture Go supports (sysconf(_SC_CLK_TCK) needs cgo).
const clockTicks = 100

type options struct {
	bin      string
	checks   int
	period   time.Duration
	warmup   time.Duration
	duration time.Duration
	hang     int
	requests int
	gogc     string
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin/podkit", "podkit binary to measure")
	flag.IntVar(&o.checks, "checks", 50, "HTTP checks")
	flag.DurationVar(&o.period, "period", time.Second, "period of every check")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "time after /readyz before CPU is sampled")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "CPU sampling window")
	flag.IntVar(&o.hang, "hang", 5, "checks that hang (plus one exec:sleep 60) during the latency burst")
	flag.IntVar(&o.requests, "requests", 500, "requests per endpoint in the latency burst")
	flag.StringVar(&o.gogc, "gogc", "", "GOGC for podkit; empty: podkit's default (50, set by the binary when GOGC is unset)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "healthcpu:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if _, err := os.Stat(o.bin); err != nil {
		return fmt.Errorf("%w (run make build)", err)
	}
	target, probes, stopTarget, err := serveTarget()
	if err != nil {
		return err
	}
	defer stopTarget()

	// Phase 1: CPU and memory with every check healthy.
	var args []string
	for i := range o.checks {
		args = append(args, "--check", fmt.Sprintf("c%d=%s/ok;period=%s", i, target, o.period))
	}
	d, err := start(o.bin, o.gogc, args)
	if err != nil {
		return err
	}
	defer d.kill()
	if err := d.waitReady(); err != nil {
		return err
	}
	time.Sleep(o.warmup)
	t0, cpu0, n0 := time.Now(), d.cpuTicks(), probes.Load()
	time.Sleep(o.duration)
	t1, cpu1, n1 := time.Now(), d.cpuTicks(), probes.Load()
	rss, hwm, anon, file := d.status("VmRSS:"), d.status("VmHWM:"), d.status("RssAnon:"), d.status("RssFile:")
	if err := d.stop(); err != nil {
		return err
	}
	wall := t1.Sub(t0).Seconds()
	cpuSec := float64(cpu1-cpu0) / clockTicks
	pct := 100 * cpuSec / wall
	gogc := o.gogc
	if gogc == "" {
		gogc = "podkit's default (50)"
	}
	fmt.Printf("podkit health: %d HTTP checks at period=%s against a local server, %s window after %s warm-up, GOGC %s\n",
		o.checks, o.period, o.duration, o.warmup, gogc)
	fmt.Printf("  CPU   %.2f%% of one core (%.2f s CPU in %.1f s; %d probes answered, %.1f/s)\n", pct, cpuSec, wall, n1-n0, float64(n1-n0)/wall)
	fmt.Printf("  RSS   %.1f MiB at the end (peak VmHWM %.1f MiB): RssAnon %.1f MiB + RssFile %.1f MiB\n",
		mib(rss), mib(hwm), mib(anon), mib(file))
	fmt.Printf("        (RssFile is the binary's pages, shared through the page cache by every container of the image on a node)\n")

	// Phase 2: endpoint latency while checks hang.
	args = args[:0]
	for i := range o.checks {
		path, extra := "/ok", ""
		if i < o.hang {
			path, extra = "/hang", ";kind=liveness;timeout=1m"
		}
		args = append(args, "--check", fmt.Sprintf("c%d=%s%s;period=%s%s", i, target, path, o.period, extra))
	}
	args = append(args, "--check", "sleeper=exec:sleep 60;kind=liveness;timeout=1m")
	d, err = start(o.bin, o.gogc, args)
	if err != nil {
		return err
	}
	defer d.kill()
	if err := d.waitReady(); err != nil {
		return err
	}
	time.Sleep(2 * o.period) // the hanging probes are in flight
	fmt.Printf("\nendpoint latency, %d requests each, while %d HTTP checks and one exec:sleep 60 hang (%d checks in all)\n",
		o.requests, o.hang, o.checks+1)
	fmt.Printf("  %-9s %9s %9s %9s %9s\n", "", "median", "p90", "p99", "max")
	var healthzMedian time.Duration
	for _, path := range []string{"/healthz", "/readyz", "/checks"} {
		lat, err := burst(d.addr, path, o.requests)
		if err != nil {
			return err
		}
		if path == "/healthz" {
			healthzMedian = lat[len(lat)/2]
		}
		fmt.Printf("  %-9s %9s %9s %9s %9s\n", path, ms(lat[len(lat)/2]), ms(lat[len(lat)*9/10]), ms(lat[len(lat)*99/100]), ms(lat[len(lat)-1]))
	}
	t := time.Now()
	if err := d.stop(); err != nil {
		return err
	}
	fmt.Printf("  SIGTERM to exit with probes hanging: %s\n", ms(time.Since(t)))

	fmt.Printf("\ngoals: CPU < 1%% of a core: %s; RSS < 15 MiB: %s; /healthz median < 10 ms: %s\n",
		verdict(pct < 1), verdict(rss < 15*1024), verdict(healthzMedian < 10*time.Millisecond))
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func mib(kib int) float64 { return float64(kib) / 1024 }

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }

// serveTarget runs the probed server: /ok answers at once, /hang never
// (until the probe gives up).
func serveTarget() (string, *atomic.Int64, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, err
	}
	var probes atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) {
		probes.Add(1)
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/hang", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), &probes, func() { _ = srv.Close() }, nil
}

type daemon struct {
	cmd    *exec.Cmd
	addr   string
	stderr bytes.Buffer
}

func start(bin, gogc string, checkArgs []string) (*daemon, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	d := &daemon{addr: addr}
	args := append([]string{"health", "--admin-addr", addr, "--log-level", "warn"}, checkArgs...)
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stderr = &d.stderr
	d.cmd.Env = append(os.Environ(), "GOMEMLIMIT=32MiB") // as the example pods set it
	if gogc != "" {
		d.cmd.Env = append(d.cmd.Env, "GOGC="+gogc)
	}
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *daemon) waitReady() error {
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		resp, err := client.Get("http://" + d.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
	}
	return fmt.Errorf("podkit health not ready after 30s:\n%s", d.stderr.String())
}

func (d *daemon) stop() error {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		return fmt.Errorf("podkit health exit: %w\n%s", err, d.stderr.String())
	}
	return nil
}

func (d *daemon) kill() {
	if d.cmd.ProcessState == nil {
		_ = d.cmd.Process.Kill()
		_ = d.cmd.Wait()
	}
}

// cpuTicks is utime+stime of the process, in clock ticks.
func (d *daemon) cpuTicks() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(b)
	// Fields after the parenthesised command: state is field 3, utime 14, stime 15.
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

// status reads a KiB field of /proc/PID/status.
func (d *daemon) status(key string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, key); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, _ := strconv.Atoi(f[0])
				return n
			}
		}
	}
	return 0
}

// burst times n sequential GETs over one keep-alive connection, as a kubelet
// exec probe or a scraper would see the server answer; sorted.
func burst(addr, path string, n int) ([]time.Duration, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	lat := make([]time.Duration, 0, n)
	for range n {
		t := time.Now()
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t))
	}
	slices.Sort(lat)
	return lat, nil
}
