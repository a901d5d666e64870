// Command runstart measures what `podkit run`, the init and supervisor of a
// container's main process, costs against tini, the tool it replaces: the
// start-to-exit time of `podkit run -- true` beside `tini-static -- true`,
// `tini -- true` and a bare `true`, and the latency of a forwarded signal
// (sent to the init -> the child's handler ran) beside the same signal sent
// straight to the child. Variants alternate every round, in an order rotated
// each round, so drift on this small, noisy machine hits all alike; medians.
// Goals (issue 3): `podkit run` adds <= 3 ms per start and forwards a signal
// in <= 2x tini's time. `make runstart` runs it (part of `make bench`); tini
// comes from `make deps`.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	bin, goCmd, truePath, tini, tiniStatic string
	runs, signals, warmup                  int
	gap                                    time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin/podkit", "podkit binary to measure")
	flag.StringVar(&o.goCmd, "go", "go", "go command that builds the signal child")
	flag.StringVar(&o.truePath, "true", "/bin/true", "the true the variants start")
	flag.StringVar(&o.tini, "tini", "/usr/bin/tini", "Debian's dynamically linked tini")
	flag.StringVar(&o.tiniStatic, "tini-static", "/usr/bin/tini-static", "Debian's static tini")
	flag.IntVar(&o.runs, "n", 300, "timed starts per variant")
	flag.IntVar(&o.signals, "signals", 300, "timed signals per variant")
	flag.IntVar(&o.warmup, "warmup", 10, "untimed rounds first")
	// Real signals come to an idle init. Back to back (-gap 0) the threads
	// of the Go processes are still awake and every figure is lower, podkit's
	// overhead most (about half); from about 5ms on (Go's sysmon sleeps up to
	// 10ms) the figures level off.
	flag.DurationVar(&o.gap, "gap", 10*time.Millisecond, "pause before each signal, so every process is idle again")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "runstart:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.runs < 1 || o.signals < 1 {
		return errors.New("-n and -signals must be >= 1")
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%w (run make build)", err)
	}
	for _, p := range []string{o.tini, o.tiniStatic, o.truePath} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%w (run make deps)", err)
		}
	}
	tmp, err := os.MkdirTemp("", "runstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	child := filepath.Join(tmp, "sigchild")
	build := exec.Command(o.goCmd, "build", "-trimpath", "-ldflags=-s -w", "-o", child,
		"github.com/podkit/podkit/internal/bench/runstart/sigchild")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build sigchild: %w\n%s", err, out)
	}

	// tini runs with -s (child subreaper), as podkit run does by default
	// (--subreaper); without it, tini not PID 1 prints a warning per start.
	// podkit's admin server starts on a free port, as every real run has it.
	podkit := []string{bin, "run", "--admin-addr", "127.0.0.1:0"}
	tru := o.truePath
	const (
		bare, tiniStatic, tini, podkitRun = 0, 2, 3, 5 // indices in starts
	)
	starts := []variant{
		{name: "true (bare, baseline)", argv: []string{tru}},
		{name: "static Go binary (sigchild exit)", argv: []string{child, "exit"}},
		{name: "tini-static -s -- true", argv: []string{o.tiniStatic, "-s", "--", tru}},
		{name: "tini -s -- true", argv: []string{o.tini, "-s", "--", tru}},
		{name: "podkit version (podkit's init, no run)", argv: []string{bin, "version"}},
		{name: "podkit run -- true", argv: append(slices.Clone(podkit), "--", tru)},
		{name: "podkit run --log-level error", argv: append(slices.Clone(podkit), "--log-level", "error", "--", tru)},
		{name: "podkit run --log-level error --no-capture", argv: append(slices.Clone(podkit), "--log-level", "error", "--no-capture", "--", tru)},
	}
	if err := measureStarts(starts, o.runs, o.warmup); err != nil {
		return err
	}
	fmt.Printf("start to exit, %d runs per variant, interleaved, %d warm-up rounds; podkit run --admin-addr 127.0.0.1:0\n", o.runs, o.warmup)
	base, tiniS, tiniD, pk := starts[bare].median(), starts[tiniStatic].median(), starts[tini].median(), starts[podkitRun].median()
	fmt.Printf("  %-44s %10s %10s %10s\n", "", "median", "p90", "overhead")
	for i, v := range starts {
		over := "baseline"
		if i > 0 {
			over = ms(v.median() - base)
		}
		fmt.Printf("  %-44s %10s %10s %10s\n", v.name, ms(v.median()), ms(v.p90()), over)
	}
	fmt.Printf("  podkit run / tini-static: %.2fx the time, %s the overhead\n", ratio(pk, tiniS), ratio2(pk-base, tiniS-base))
	fmt.Printf("  podkit run / tini:        %.2fx the time, %s the overhead\n", ratio(pk, tiniD), ratio2(pk-base, tiniD-base))
	fmt.Printf("  goal: podkit run adds <= 3 ms per start: %s (adds %s)\n\n", verdict(pk-base <= 3*time.Millisecond), ms(pk-base))

	sigs := []variant{
		{name: "direct to the child (baseline)", argv: []string{child}},
		{name: "tini-static -s", argv: []string{o.tiniStatic, "-s", "--", child}},
		{name: "tini -s", argv: []string{o.tini, "-s", "--", child}},
		{name: "podkit run", argv: append(slices.Clone(podkit), "--", child)},
	}
	if err := measureSignals(sigs, tmp, o.signals, o.warmup, o.gap); err != nil {
		return err
	}
	fmt.Printf("signal forwarding: SIGUSR1 sent to the init -> the child's handler wrote a byte to a FIFO,\n")
	fmt.Printf("%d signals per variant, interleaved, %d warm-up rounds, %s idle before each; overhead over a signal sent straight to the child\n",
		o.signals, o.warmup, o.gap)
	fmt.Printf("  %-44s %10s %10s %10s\n", "", "median", "p90", "overhead")
	direct, sigS, sigD, sigP := sigs[0].median(), sigs[1].median(), sigs[2].median(), sigs[3].median()
	for i, v := range sigs {
		over := "baseline"
		if i > 0 {
			over = us(v.median() - direct)
		}
		fmt.Printf("  %-44s %10s %10s %10s\n", v.name, us(v.median()), us(v.p90()), over)
	}
	fwdS, fwdD, fwdP := sigS-direct, sigD-direct, sigP-direct
	fmt.Printf("  podkit run / tini-static: %.2fx the latency, %s the forwarding overhead\n", ratio(sigP, sigS), ratio2(fwdP, fwdS))
	fmt.Printf("  podkit run / tini:        %.2fx the latency, %s the forwarding overhead\n", ratio(sigP, sigD), ratio2(fwdP, fwdD))
	fmt.Printf("  goal: forwarding overhead <= 2x tini's: %s against tini-static, %s against tini\n\n",
		goal2x(fwdP, fwdS), goal2x(fwdP, fwdD))

	fmt.Printf("medians: true %s, tini-static %s, tini %s, podkit run %s (adds %s); forwarding: tini-static %s, tini %s, podkit run %s\n",
		ms(base), ms(tiniS), ms(tiniD), ms(pk), ms(pk-base), us(fwdS), us(fwdD), us(fwdP))
	return nil
}

type variant struct {
	name string
	argv []string
	took []time.Duration // sorted once measured
}

func (v *variant) median() time.Duration { return v.took[len(v.took)/2] }
func (v *variant) p90() time.Duration    { return v.took[len(v.took)*9/10] }

// rounds calls f for every variant, warmup+n times, in an order rotated each
// round; f's durations are kept after the warm-up.
func rounds(vs []variant, n, warmup int, f func(i int) (time.Duration, error)) error {
	for r := range warmup + n {
		for k := range vs {
			i := (k + r) % len(vs)
			d, err := f(i)
			if err != nil {
				return fmt.Errorf("%s: %w", vs[i].name, err)
			}
			if r >= warmup {
				vs[i].took = append(vs[i].took, d)
			}
		}
	}
	for i := range vs {
		slices.Sort(vs[i].took)
	}
	return nil
}

func measureStarts(vs []variant, n, warmup int) error {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	// Once with stderr kept, so a failing variant says why.
	for _, v := range vs {
		cmd := exec.Command(v.argv[0], v.argv[1:]...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(v.argv, " "), err, stderr.String())
		}
	}
	// No TTY on stdin (podkit would hand it over) and output to /dev/null:
	// no pipes, no copying goroutines in the measure.
	attr := &os.ProcAttr{Files: []*os.File{null, null, null}}
	return rounds(vs, n, warmup, func(i int) (time.Duration, error) {
		t := time.Now()
		p, err := os.StartProcess(vs[i].argv[0], vs[i].argv, attr)
		if err != nil {
			return 0, err
		}
		st, err := p.Wait()
		took := time.Since(t)
		if err != nil {
			return 0, err
		}
		if !st.Success() {
			return 0, fmt.Errorf("exited %s", st)
		}
		return took, nil
	})
}

// sigProc is one variant of the signal measure, running: the process this
// command started (the init, or the child itself) and the child's PID.
type sigProc struct {
	proc     *os.Process
	fifo     int // read end, blocking
	childPID int
	stderr   string // file with the process's stderr
}

func measureSignals(vs []variant, tmp string, n, warmup int, gap time.Duration) error {
	procs := make([]*sigProc, len(vs))
	defer func() {
		for _, p := range procs {
			if p != nil {
				p.stop()
			}
		}
	}()
	for i, v := range vs {
		p, err := startSigProc(v, tmp, i)
		if p != nil {
			procs[i] = p
		}
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
	}
	one := make([]byte, 1)
	return rounds(vs, n, warmup, func(i int) (time.Duration, error) {
		p := procs[i]
		time.Sleep(gap)
		t := time.Now()
		if err := p.proc.Signal(syscall.SIGUSR1); err != nil {
			return 0, err
		}
		if err := waitReadable(p.fifo, 5*time.Second); err != nil {
			return 0, fmt.Errorf("no byte from the child after SIGUSR1: %w%s", err, p.stderrTail())
		}
		if _, err := syscall.Read(p.fifo, one); err != nil {
			return 0, err
		}
		return time.Since(t), nil
	})
}

func startSigProc(v variant, tmp string, i int) (*sigProc, error) {
	fifoPath := filepath.Join(tmp, fmt.Sprintf("sig%d.fifo", i))
	if err := syscall.Mkfifo(fifoPath, 0o600); err != nil {
		return nil, err
	}
	// O_RDWR: the open does not wait for a writer, and reads never see EOF
	// when the child dies (waitReadable's timeout catches that).
	fd, err := syscall.Open(fifoPath, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	errPath := filepath.Join(tmp, fmt.Sprintf("sig%d.stderr", i))
	errFile, err := os.Create(errPath)
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	defer errFile.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	defer null.Close()
	argv := append(slices.Clone(v.argv), fifoPath)
	proc, err := os.StartProcess(argv[0], argv, &os.ProcAttr{Files: []*os.File{null, null, errFile}})
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	p := &sigProc{proc: proc, fifo: fd, stderr: errPath}
	// "ready PID\n": the child's handler is installed. podkit run and tini
	// handle signals before they start the child, so they forward from now.
	var line []byte
	buf := make([]byte, 64)
	for !bytes.HasSuffix(line, []byte("\n")) {
		if err := waitReadable(fd, 10*time.Second); err != nil {
			return p, fmt.Errorf("child not ready: %w%s", err, p.stderrTail())
		}
		k, err := syscall.Read(fd, buf)
		if err != nil {
			return p, err
		}
		line = append(line, buf[:k]...)
	}
	pid, ok := strings.CutPrefix(strings.TrimSpace(string(line)), "ready ")
	if p.childPID, err = strconv.Atoi(pid); !ok || err != nil {
		return p, fmt.Errorf("child said %q, not ready PID", line)
	}
	return p, nil
}

func (p *sigProc) stderrTail() string {
	b, _ := os.ReadFile(p.stderr)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	if len(b) == 0 {
		return ""
	}
	return "\n" + string(b)
}

// stop ends what startSigProc started, by PID: SIGTERM to the process it
// started (an init forwards it, the child dies of it), SIGKILL after 5s;
// then SIGKILL to the child if it outlived its init.
func (p *sigProc) stop() {
	defer syscall.Close(p.fifo)
	_ = p.proc.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_, _ = p.proc.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.proc.Kill()
		<-done
	}
	if p.childPID > 0 && p.childPID != p.proc.Pid {
		// Still there and still ours (the PID not reused): not reaped by
		// its init, so it outlived it.
		if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.childPID)); err == nil && bytes.Contains(cmdline, []byte("sigchild")) {
			_ = syscall.Kill(p.childPID, syscall.SIGKILL)
		}
	}
}

// waitReadable blocks until fd has data, without the netpoller's goroutine
// hand-off in the measure.
func waitReadable(fd int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("timed out after %s", timeout)
		}
		var set syscall.FdSet
		set.Bits[fd/64] |= 1 << (uint(fd) % 64)
		tv := syscall.NsecToTimeval(left.Nanoseconds())
		k, err := syscall.Select(fd+1, &set, nil, nil, &tv)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if k > 0 {
			return nil
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }
func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// ratio2 is a/b of two overheads; noise can make b <= 0 on a fast machine.
func ratio2(a, b time.Duration) string {
	if b <= 0 {
		return "n/a (tini's overhead <= 0)"
	}
	return fmt.Sprintf("%.2fx", ratio(a, b))
}

// goal2x is the verdict on podkit's forwarding overhead p against tini's t;
// none when noise put tini's at or below the baseline.
func goal2x(p, t time.Duration) string {
	if t <= 0 {
		return "n/a (noise: tini's overhead <= 0)"
	}
	return verdict(p <= 2*t)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
