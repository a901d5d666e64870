package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/clitest"
	"github.com/podkit/podkit/pkg/supervisor"
)

// Black-box tests of `podkit run`, each run twice (runModes): as an ordinary
// child of the test process, where podkit makes itself a child subreaper, and
// as PID 1 of a fresh PID namespace, as in a container. The child programs
// are this test binary (runchild_test.go), which records what happens to it
// in a file; the tests wait for those records, never for a fixed time.

// runMode is how a test runs podkit.
type runMode struct {
	name    string
	wrapper []string // clitest.Options.Wrapper
}

// In "pid1", signals go to podkit's pid as the test sees it: clitest finds
// it as the child of unshare that runs the podkit binary, from /proc/PID/stat
// and /proc/PID/exe (/proc/PID/task/TID/children would need
// CONFIG_PROC_CHILDREN, which some kernels, this VM's among them, lack).
var runModes = []runMode{{"child", nil}, {"pid1", clitest.PID1}}

// forEachMode runs f as a parallel subtest per mode.
func forEachMode(t *testing.T, f func(t *testing.T, m runMode)) {
	t.Helper()
	t.Parallel()
	for _, m := range runModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			f(t, m)
		})
	}
}

func (m runMode) opts(env []string) clitest.Options {
	// GORACE: a child built with -race would sleep 1s before exiting.
	return clitest.Options{Env: append([]string{childEnv + "=1", "GORACE=atexit_sleep_ms=0"}, env...), Wrapper: m.wrapper}
}

// start starts `podkit run ARGS...`; ARGS end with "--" and the command.
func (m runMode) start(t *testing.T, env []string, args ...string) *clitest.Proc {
	t.Helper()
	return clitest.Start(t, m.opts(env), "run", args...)
}

// run runs `podkit run ARGS...` to completion.
func (m runMode) run(t *testing.T, args ...string) clitest.Result {
	t.Helper()
	return clitest.RunWith(t, m.opts(nil), append([]string{"run", "--admin-addr=127.0.0.1:0", "--log-format=json"}, args...)...)
}

// signalsChild is "--" and the argv of a child in signals mode named
// "child" (see childMain).
func signalsChild(dir string, opts ...string) []string {
	return append([]string{"--"}, childCmd(append([]string{"signals", dir, "child"}, opts...)...)...)
}

// execHook is an exec: hook running this test binary as a child.
func execHook(args ...string) string { return "exec:" + strings.Join(childCmd(args...), " ") }

func withArgs(args []string, more ...string) []string {
	return append(append([]string{}, args...), more...)
}

// eventually polls cond; the bound only stops a broken build from hanging.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitEvent waits for a line of DIR/events starting with prefix.
func waitEvent(t *testing.T, dir, prefix string) {
	t.Helper()
	if !waitRecorded(dir, prefix) {
		t.Fatalf("no event %q; events: %q", prefix, readEvents(dir))
	}
}

func countEvents(dir, line string) int {
	n := 0
	for _, l := range readEvents(dir) {
		if l == line {
			n++
		}
	}
	return n
}

// readyPids are the pid and parent pid the child recorded when ready, as
// its PID namespace numbers them.
func readyPids(t *testing.T, dir string) (pid, ppid int) {
	t.Helper()
	waitEvent(t, dir, "child ready")
	for _, l := range readEvents(dir) {
		if _, err := fmt.Sscanf(l, "child ready pid=%d ppid=%d", &pid, &ppid); err == nil {
			return pid, ppid
		}
	}
	t.Fatalf("no ready line: %q", readEvents(dir))
	return 0, 0
}

// metric reads one series (name and labels as /metrics prints them).
func metric(t *testing.T, p *clitest.Proc, series string) float64 {
	t.Helper()
	code, body := p.Get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("/metrics: %q: %v", l, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", series)
	return 0
}

// wantExit waits for podkit to exit and checks the code.
func wantExit(t *testing.T, p *clitest.Proc, want int) {
	t.Helper()
	if code := p.Wait(); code != want {
		t.Fatalf("podkit exit %d, want %d\nstderr:\n%s", code, want, p.Stderr())
	}
}

// gone reports whether no process runs a command line containing all of
// parts (zombies count as gone).
func gone(parts ...string) bool {
	for _, pr := range clitest.Processes() {
		if pr.State == 'Z' {
			continue
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pr.Pid) + "/cmdline")
		if err != nil {
			continue
		}
		all := true
		for _, s := range parts {
			all = all && strings.Contains(string(b), s)
		}
		if all {
			return false
		}
	}
	return true
}

func TestRunForwardsSignals(t *testing.T) {
	forEachMode(t, func(t *testing.T, m runMode) {
		dir := t.TempDir()
		p := m.start(t, nil, signalsChild(dir, "code=7")...)
		_, ppid := readyPids(t, dir)
		switch m.name {
		case "child":
			if ppid != p.Pid() {
				t.Errorf("child's parent is %d, want podkit (%d)", ppid, p.Pid())
			}
		case "pid1":
			status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
			if ppid != 1 || !strings.Contains(string(status), "\nNSpid:\t"+strconv.Itoa(p.Pid())+"\t1\n") {
				t.Errorf("podkit is not PID 1 of its namespace: child's ppid %d; podkit's status:\n%s", ppid, status)
			}
		}
		for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGQUIT, syscall.SIGWINCH} {
			p.Signal(sig)
			waitEvent(t, dir, "child "+supervisor.SignalName(sig))
		}
		if n := metric(t, p, `podkit_run_signals_forwarded_total{signal="SIGUSR1"}`); n != 1 {
			t.Errorf("forwarded SIGUSR1 counted %v times, want 1", n)
		}
		// SIGTERM is a stop request; the stop signal is TERM by default.
		p.Signal(syscall.SIGTERM)
		wantExit(t, p, 7)
		if ev := readEvents(dir); ev[len(ev)-1] != "child SIGTERM" {
			t.Errorf("events %q, want the last to be child SIGTERM", ev)
		}
		if !strings.Contains(p.Stdout(), "child got SIGHUP\n") {
			t.Errorf("the child's output did not pass through to stdout: %q", p.Stdout())
		}
	})
}

func TestRunStopSignal(t *testing.T) {
	forEachMode(t, func(t *testing.T, m runMode) {
		dir := t.TempDir()
		p := m.start(t, nil, withArgs([]string{"--stop-signal=usr2"}, signalsChild(dir, "exit-on=USR2")...)...)
		readyPids(t, dir)
		p.Signal(syscall.SIGTERM)
		wantExit(t, p, 0)
		if ev := readEvents(dir); !slices.Equal(ev[1:], []string{"child SIGUSR2"}) {
			t.Errorf("events %q: want SIGUSR2 (--stop-signal) and no SIGTERM", ev)
		}
	})
}

// SIGINT is forwarded and also ends restarts (Ctrl-C without a terminal).
func TestRunSIGINTEndsRestarts(t *testing.T) {
	forEachMode(t, func(t *testing.T, m runMode) {
		dir := t.TempDir()
		p := m.start(t, nil, withArgs([]string{"--restart=always", "--restart-backoff=1ms", "--restart-backoff-max=1ms"},
			signalsChild(dir, "exit-on=INT")...)...)
		readyPids(t, dir)
		p.Signal(syscall.SIGINT)
		wantExit(t, p, 0)
		if ev := readEvents(dir); len(ev) != 2 || ev[1] != "child SIGINT" || countEvents(dir, "child SIGINT") != 1 {
			t.Errorf("events %q: want one start, SIGINT, no restart", ev)
		}
	})
}

func TestRunSignalGroup(t *testing.T) {
	forEachMode(t, func(t *testing.T, m runMode) {
		for _, group := range []bool{true, false} {
			t.Run(fmt.Sprintf("signal-group=%v", group), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				p := m.start(t, nil, withArgs([]string{fmt.Sprintf("--signal-group=%v", group)}, signalsChild(dir, "group")...)...)
				readyPids(t, dir)
				p.Signal(syscall.SIGHUP)
				waitEvent(t, dir, "child SIGHUP")
				if group {
					waitEvent(t, dir, "grandchild SIGHUP")
				}
				// The child exits on TERM; its group is killed after it (so
				// the grandchild may or may not see TERM first).
				p.Signal(syscall.SIGTERM)
				wantExit(t, p, 0)
				if got := countEvents(dir, "grandchild SIGHUP"); group && got != 1 || !group && got != 0 {
					t.Errorf("events %q: the grandchild got SIGHUP %d times", readEvents(dir), got)
				}
			})
		}
	})
}

func TestRunReapsOrphans(t *testing.T) {
	forEachMode(t, func(t *testing.T, m runMode) {
		dir := t.TempDir()
		const n = 3
		p := m.start(t, nil, signalsChild(dir, "orphans="+strconv.Itoa(n))...)
		readyPids(t, dir)
		eventually(t, "the orphans to exit", func() bool { return countEvents(dir, "orphan exiting") == n })
		// Until reaped, an orphan that exited stays a zombie child of podkit.
		eventually(t, "podkit's only child to be the child it started", func() bool {
			children := 0
			for _, pr := range clitest.Processes() {
				if pr.PPid == p.Pid() {
					children++
				}
			}
			return children == 1
		})
		if got := metric(t, p, "podkit_run_orphans_reaped_total"); got != n {
			t.Errorf("podkit_run_orphans_reaped_total = %v, want %d", got, n)
		}
		p.Stop()
	})
}

func TestRunExitCodes(t *testing.T) {
	forEachMode(t, func(t *testing.T, m runMode) {
		dir := t.TempDir()
		text := filepath.Join(dir, "text")
		garbage := filepath.Join(dir, "garbage")
		if err := os.WriteFile(text, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(garbage, []byte("\x00\x01 not a program\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name       string
			argv       []string
			code       int
			stdout     string // when not "": exactly what podkit prints
			stderrLine string // a line podkit prints on stderr
		}{
			{"exit 0", []string{"sh", "-c", "echo out; exit 0"}, 0, "out\n", ""},
			{"exit 3", []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, 3, "out\n", "err"},
			{"SIGUSR1", []string{"sh", "-c", "kill -USR1 $$"}, 128 + 10, "", ""},
			{"SIGKILL", []string{"sh", "-c", "kill -KILL $$"}, 128 + 9, "", ""},
			{"not in PATH", []string{"no-such-command-for-podkit"}, 127, "", "podkit run: supervisor: start no-such-command-for-podkit: executable file not found in $PATH"},
			{"no such file", []string{filepath.Join(dir, "nope")}, 127, "", ""},
			{"not executable", []string{text}, 126, "", ""},
			{"exec format error", []string{garbage}, 126, "", ""},
			{"directory", []string{dir}, 126, "", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				r := m.run(t, append([]string{"--"}, tc.argv...)...)
				if r.Code != tc.code {
					t.Errorf("exit %d, want %d\nstderr:\n%s", r.Code, tc.code, r.Stderr)
				}
				if tc.stdout != "" && r.Stdout != tc.stdout {
					t.Errorf("stdout %q, want %q", r.Stdout, tc.stdout)
				}
				if tc.stderrLine != "" && !slices.Contains(strings.Split(r.Stderr, "\n"), tc.stderrLine) {
					t.Errorf("stderr lacks the line %q:\n%s", tc.stderrLine, r.Stderr)
				}
			})
		}
	})
}

// A child that ignores the stop signal gets SIGKILL after --grace-period, and
// so does everything in its process group.
func TestRunGracePeriodEscalation(t *testing.T) {
	forEachMode(t, func(t *testing.T, m runMode) {
		dir := t.TempDir()
		p := m.start(t, nil, withArgs([]string{"--grace-period=300ms"}, signalsChild(dir, "exit-on=none", "group")...)...)
		readyPids(t, dir)
		procs := clitest.Descendants(p.Pid())
		if len(procs) != 2 {
			t.Fatalf("podkit's descendants: %v, want the child and the grandchild", procs)
		}
		p.Signal(syscall.SIGTERM)
		waitEvent(t, dir, "child SIGTERM")
		wantExit(t, p, 128+9)
		if !strings.Contains(p.Stderr(), "grace period over: killing the child's process group") {
			t.Errorf("no escalation logged:\n%s", p.Stderr())
		}
		eventually(t, "the child's process group to die", func() bool {
			for _, pid := range procs {
				if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
					return false
				}
			}
			return true
		})
	})
}

func TestRunRestartPolicy(t *testing.T) {
	forEachMode(t, func(t *testing.T, m runMode) {
		for _, tc := range []struct {
			flags      []string
			code, runs int
		}{
			{nil, 3, 1},
			{[]string{"--restart=never"}, 3, 1},
			{[]string{"--restart=on-failure", "--max-restarts=2"}, 3, 3},
			{[]string{"--restart=on-failure", "--max-restarts=2", "--exit=0"}, 0, 1},
			{[]string{"--restart=always", "--max-restarts=2", "--exit=0"}, 0, 3},
			{[]string{"--restart=always", "--max-restarts=1", "--exit=5"}, 5, 2},
		} {
			t.Run(strings.Join(tc.flags, " "), func(t *testing.T) {
				t.Parallel()
				runs := filepath.Join(t.TempDir(), "runs")
				code := "3"
				var flags []string
				for _, f := range tc.flags {
					if v, ok := strings.CutPrefix(f, "--exit="); ok {
						code = v
					} else {
						flags = append(flags, f)
					}
				}
				r := m.run(t, withArgs(flags, "--restart-backoff=1ms", "--restart-backoff-max=2ms",
					"--", "sh", "-c", "echo run >> "+runs+"; exit "+code)...)
				b, _ := os.ReadFile(runs)
				if r.Code != tc.code || strings.Count(string(b), "run\n") != tc.runs {
					t.Errorf("exit %d after %d runs, want %d after %d\nstderr:\n%s", r.Code, strings.Count(string(b), "run\n"), tc.code, tc.runs, r.Stderr)
				}
			})
		}
	})
}

func TestRunUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "started")
	cmd := []string{"--", "touch", marker}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "requires at least 1 arg(s)"},
		{withArgs([]string{"run", "--restart=sometimes"}, cmd...), `--restart: want never, on-failure or always (got "sometimes")`},
		{withArgs([]string{"run", "--stop-signal=NOPE"}, cmd...), `--stop-signal: unknown signal "NOPE"`},
		{withArgs([]string{"run", "--stop-signal=65"}, cmd...), "--stop-signal: signal 65 out of range 1-64"},
		{withArgs([]string{"run", "--pre-stop=ftp://x/"}, cmd...), "--pre-stop: want exec:COMMAND ARGS... or an http:// or https:// URL"},
		{withArgs([]string{"run", "--post-start=exec:"}, cmd...), "--post-start: want exec:COMMAND ARGS..."},
		{withArgs([]string{"run", "--post-start=http://"}, cmd...), "--post-start: URL has no host"},
		{withArgs([]string{"run", "--grace-period=0s"}, cmd...), "--grace-period: must be > 0"},
		{withArgs([]string{"run", "--hook-timeout=-1s"}, cmd...), "--hook-timeout: must be > 0"},
		{withArgs([]string{"run", "--max-restarts=-1"}, cmd...), "--max-restarts: must be >= 0"},
		{withArgs([]string{"run", "--restart-backoff=2s", "--restart-backoff-max=1s"}, cmd...), "--restart-backoff-max: must be >= --restart-backoff"},
		{withArgs([]string{"run", "--log-buffer-bytes=0"}, cmd...), "--log-buffer-bytes: must be > 0"},
		{withArgs([]string{"run", "--check=nope"}, cmd...), "--check: want NAME=TARGET"},
		{[]string{"install"}, "accepts 1 arg(s)"},
	} {
		r := clitest.Run(t, nil, tc.args...)
		firstLine, _, _ := strings.Cut(r.Stderr, "\n")
		if r.Code != 2 || !strings.Contains(firstLine, tc.want) {
			t.Errorf("podkit %q: exit %d, stderr %q; want exit 2 and a line containing %q", tc.args, r.Code, r.Stderr, tc.want)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("a usage error started the command")
	}
}

// The admin address is bound before the child starts: a clash exits 1 and
// starts nothing.
func TestRunAdminAddrInUseStartsNothing(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	marker := filepath.Join(t.TempDir(), "started")
	r := clitest.Run(t, nil, "run", "--admin-addr="+ln.Addr().String(), "--", "touch", marker)
	if r.Code != 1 || !strings.Contains(r.Stderr, ln.Addr().String()) {
		t.Errorf("exit %d, stderr %q; want 1 naming the address", r.Code, r.Stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the command ran although the admin address was taken")
	}
}
