package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// State-machine tests on fake processes and fake time. The black-box tests
// with real processes are in cmd/podkit/run_test.go.

func wantExitCode(t *testing.T, err error, code int) {
	t.Helper()
	var ec interface{ ExitCode() int }
	switch {
	case code == 0 && err != nil:
		t.Fatalf("Run = %v, want nil", err)
	case code != 0 && (!errors.As(err, &ec) || ec.ExitCode() != code):
		t.Fatalf("Run = %v, want exit code %d", err, code)
	}
}

func TestFakeLifecycleStates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeSys()
		f.pid = 42 // not PID 1: it makes itself a subreaper
		f.setup = func(f *fakeSys, p *fakeProc) {
			if p.argv[0] == "post" {
				f.exitAfter(p, time.Second, exited(0))
			}
		}
		h := startFake(t, f, Config{PostStart: Hook{Argv: []string{"post"}}})
		if f.mu.Lock(); !f.subreaper {
			t.Errorf("not a subreaper")
		}
		f.mu.Unlock()
		child := f.proc(0)
		if st := h.s.Status(); st.State != StateStarting || st.PID != child.pid {
			t.Errorf("during post-start: %+v", st)
		}
		if err := h.s.Ready(); err == nil || !strings.Contains(err.Error(), "post-start hook running") {
			t.Errorf("Ready during post-start = %v", err)
		}
		time.Sleep(time.Second)
		if st := h.state(); st != StateRunning || h.s.Ready() != nil {
			t.Errorf("after post-start: %s, Ready %v", st, h.s.Ready())
		}
		f.exit(child, exited(4))
		wantExitCode(t, h.wait(), 4)
		st := h.s.Status()
		if st.State != StateExited || st.PID != 0 || st.LastExit == nil || st.LastExit.Code != 4 || st.LastRan != time.Second {
			t.Errorf("after exit: %+v", st)
		}
		if err := h.s.Ready(); err == nil || err.Error() != "exited: child exit status 4" {
			t.Errorf("Ready after exit = %v", err)
		}
	})
}

// Stop: pre-stop hook, then the stop signal, then SIGKILL to the group
// after the grace period.
func TestFakeStopSequence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeSys()
		f.setup = func(f *fakeSys, p *fakeProc) {
			switch p.argv[0] {
			case "app":
				p.exitOn = nil // ignores SIGQUIT and SIGTERM
			case "pre":
				f.exitAfter(p, 2*time.Second, exited(0))
			}
		}
		h := startFake(t, f, Config{PreStop: Hook{Argv: []string{"pre", "arg"}}, StopSignal: syscall.SIGQUIT, GracePeriod: 5 * time.Second})
		child := f.proc(0)
		t0 := time.Now()
		if err := h.s.Stop(t.Context(), "test"); err != nil {
			t.Fatal(err)
		}
		if st := h.state(); st != StateStopping || h.s.Status().StopCause != "test" {
			t.Errorf("state %s, cause %q", st, h.s.Status().StopCause)
		}
		if pre := f.proc(1); !slices.Equal(pre.argv, []string{"pre", "arg"}) {
			t.Fatalf("pre-stop hook not run: %q", pre.argv)
		}
		// A SIGTERM during the hook is not forwarded: the stop is under way.
		f.signal(syscall.SIGTERM)
		synctest.Wait()
		if got := f.received(child); len(got) != 0 {
			t.Errorf("the child got %v during the pre-stop hook", got)
		}
		// A second stop request does not start over.
		if err := h.s.Stop(t.Context(), "again"); err != nil {
			t.Fatal(err)
		}
		wantExitCode(t, h.wait(), 128+9)
		if got := f.received(child); !slices.Equal(got, []syscall.Signal{syscall.SIGQUIT, syscall.SIGKILL}) {
			t.Errorf("the child got %v, want QUIT then KILL", got)
		}
		if at := f.killAt(child.pid, syscall.SIGQUIT); at.Sub(t0) != 2*time.Second {
			t.Errorf("stop signal %s after the stop request, want after the 2s hook", at.Sub(t0))
		}
		if at := f.killAt(-child.pgid, syscall.SIGKILL); at.Sub(t0) != 7*time.Second {
			t.Errorf("SIGKILL to the group %s after the stop request, want 2s hook + 5s grace", at.Sub(t0))
		}
		if n := testutil.ToFloat64(h.s.m.escalations); n != 1 {
			t.Errorf("escalations = %v", n)
		}
		if n := testutil.ToFloat64(h.s.m.hookRuns.WithLabelValues(hookPreStop, "ok")); n != 1 {
			t.Errorf("pre-stop ok runs = %v", n)
		}
		if st := h.s.Status(); st.State != StateExited || st.StopCause != "test" {
			t.Errorf("status after stop: %+v", st)
		}
	})
}

// Stop's cause is only a label: an empty one still stops.
func TestFakeStopWithoutCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeSys()
		h := startFake(t, f, Config{})
		if err := h.s.Stop(t.Context(), ""); err != nil {
			t.Fatal(err)
		}
		if !h.done() {
			t.Fatalf("Stop(ctx, \"\") did not stop: the child got %v", f.received(f.proc(0)))
		}
		wantExitCode(t, h.wait(), 0)
	})
}

// A hanging pre-stop hook is killed after the hook timeout and the stop goes on.
func TestFakeHangingPreStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeSys()
		h := startFake(t, f, Config{PreStop: Hook{Argv: []string{"hang"}}, HookTimeout: 3 * time.Second})
		t0 := time.Now()
		h.cancel() // the context's end is a stop request too
		wantExitCode(t, h.wait(), 0)
		hook := f.proc(1)
		if got := f.killsTo(-hook.pid); !slices.Equal(got, []syscall.Signal{syscall.SIGKILL}) {
			t.Errorf("hook's group got %v, want SIGKILL", got)
		}
		if at := f.killAt(f.proc(0).pid, syscall.SIGTERM); at.Sub(t0) != 3*time.Second {
			t.Errorf("stop signal %s after the stop, want after the 3s hook timeout", at.Sub(t0))
		}
		if n := testutil.ToFloat64(h.s.m.hookRuns.WithLabelValues(hookPreStop, "timeout")); n != 1 {
			t.Errorf("pre-stop timeouts = %v", n)
		}
		if st := h.s.Status(); st.StopCause != "shutdown" {
			t.Errorf("stop cause %q", st.StopCause)
		}
	})
}

func TestFakeRestartBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeSys()
		// Runs of 100ms, except the 4th, which runs 10s and resets the delay.
		f.setup = func(f *fakeSys, p *fakeProc) {
			run := 100 * time.Millisecond
			if len(f.all) == 4 {
				run = backoffReset
			}
			f.exitAfter(p, run, exited(1))
		}
		h := startFake(t, f, Config{Restart: RestartOnFailure, MaxRestarts: 5, RestartBackoff: time.Second, RestartBackoffMax: 3 * time.Second})
		time.Sleep(150 * time.Millisecond)
		if st := h.state(); st != StateBackoff {
			t.Errorf("state %s after an exit, want backoff", st)
		}
		if err := h.s.Ready(); err == nil || !strings.HasPrefix(err.Error(), "backoff: child exit status 1; restart 1 in") {
			t.Errorf("Ready in backoff = %v", err)
		}
		wantExitCode(t, h.wait(), 1)
		var gaps []time.Duration
		for i := 1; i < f.started(); i++ {
			gaps = append(gaps, f.proc(i).startedAt.Sub(f.proc(i-1).startedAt))
		}
		ms := time.Millisecond
		want := []time.Duration{1100 * ms, 2100 * ms, 3100 * ms, backoffReset + time.Second, 2100 * ms}
		if !slices.Equal(gaps, want) {
			t.Errorf("starts %v apart, want %v", gaps, want)
		}
		if st := h.s.Status(); st.Restarts != 5 || st.State != StateExited {
			t.Errorf("status %+v, want 5 restarts", st)
		}
		if n := testutil.ToFloat64(h.s.m.restarts); n != 5 {
			t.Errorf("restarts metric %v", n)
		}
	})
}

func TestFakeRestartPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy   RestartPolicy
		max      int
		ws       exitStatus
		starts   int
		exitCode int
	}{
		{"", 0, exited(1), 1, 1},
		{RestartNever, 0, killed(syscall.SIGSEGV), 1, 128 + 11},
		{RestartOnFailure, 3, exited(0), 1, 0},
		{RestartOnFailure, 3, killed(syscall.SIGABRT), 4, 128 + 6},
		{RestartAlways, 2, exited(0), 3, 0},
		{RestartAlways, 1, exited(9), 2, 9},
	} {
		t.Run(fmt.Sprintf("%s/%d/%#x", tc.policy, tc.max, int(tc.ws)), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeSys()
				f.setup = func(f *fakeSys, p *fakeProc) { f.exitAfter(p, time.Second, tc.ws) }
				h := startFake(t, f, Config{Restart: tc.policy, MaxRestarts: tc.max})
				wantExitCode(t, h.wait(), tc.exitCode)
				if n := f.started(); n != tc.starts {
					t.Errorf("%d starts, want %d", n, tc.starts)
				}
			})
		})
	}
}

// A stop request or SIGINT during the backoff ends the restarts.
func TestFakeStopDuringBackoff(t *testing.T) {
	for _, how := range []string{"stop", "SIGINT"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeSys()
				f.setup = func(f *fakeSys, p *fakeProc) { f.exitAfter(p, time.Second, exited(3)) }
				h := startFake(t, f, Config{Restart: RestartAlways, RestartBackoff: time.Hour, RestartBackoffMax: time.Hour})
				time.Sleep(2 * time.Second)
				if st := h.state(); st != StateBackoff {
					t.Fatalf("state %s", st)
				}
				if _, err := h.s.Signal(t.Context(), syscall.SIGHUP); !errors.Is(err, ErrNoChild) {
					t.Errorf("Signal in backoff = %v, want ErrNoChild", err)
				}
				if how == "stop" {
					if err := h.s.Stop(t.Context(), "test"); err != nil {
						t.Fatal(err)
					}
				} else {
					f.signal(syscall.SIGINT)
				}
				if !h.done() {
					t.Fatalf("still running after %s in backoff", how)
				}
				wantExitCode(t, h.wait(), 3)
				if n := f.started(); n != 1 {
					t.Errorf("%d starts", n)
				}
				if st := h.s.Status(); st.State != StateExited || !st.NextRestart.IsZero() {
					t.Errorf("status %+v", st)
				}
			})
		})
	}
}

func TestFakeSignalForwarding(t *testing.T) {
	for _, group := range []bool{false, true} {
		t.Run(fmt.Sprintf("group=%v", group), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeSys()
				f.setup = func(_ *fakeSys, p *fakeProc) { p.exitOn[syscall.SIGINT] = killed(syscall.SIGINT) }
				h := startFake(t, f, Config{SignalGroup: group, Restart: RestartAlways})
				child := f.proc(0)
				target := child.pid
				if group {
					target = -child.pgid
				}
				for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGPIPE, syscall.SIGUSR1, syscall.SIGTTOU, syscall.SIGWINCH, sigRTMin + 3, syscall.SIGTTIN} {
					f.signal(sig)
				}
				synctest.Wait() // signals first, then the request
				if _, err := h.s.Signal(t.Context(), syscall.SIGUSR2); err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				want := []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGWINCH, sigRTMin + 3, syscall.SIGUSR2}
				if got := f.killsTo(target); !slices.Equal(got, want) {
					t.Errorf("sent %v to %d, want %v", got, target, want)
				}
				if n := testutil.ToFloat64(h.s.m.forwarded.WithLabelValues("SIGRTMIN+3")); n != 1 {
					t.Errorf("forwarded SIGRTMIN+3 counted %v", n)
				}
				// SIGINT is forwarded, and ends restarts despite --restart always.
				f.signal(syscall.SIGINT)
				wantExitCode(t, h.wait(), 128+2)
				if n := f.started(); n != 1 {
					t.Errorf("%d starts after SIGINT, want 1", n)
				}
			})
		})
	}
}

// SIGTERM once the stop signal went out is forwarded again.
func TestFakeSecondSIGTERMForwarded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeSys()
		f.setup = func(_ *fakeSys, p *fakeProc) { p.exitOn = nil }
		h := startFake(t, f, Config{GracePeriod: time.Minute})
		f.signal(syscall.SIGTERM)
		f.signal(syscall.SIGTERM)
		synctest.Wait()
		child := f.proc(0)
		if got := f.received(child); !slices.Equal(got, []syscall.Signal{syscall.SIGTERM, syscall.SIGTERM}) {
			t.Errorf("the child got %v", got)
		}
		wantExitCode(t, h.wait(), 128+9)
	})
}

// Orphans are reaped and counted; what the child leaves in its group is
// killed and reaped before Run returns.
func TestFakeReapAndDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeSys()
		f.setup = func(f *fakeSys, p *fakeProc) {
			orphan := f.spawnLocked(999, "orphan") // another group
			f.exitAfter(orphan, time.Second, exited(0))
			left := f.spawnLocked(p.pgid, "daemonized") // the child's group
			left.exitOn = nil
			f.exitAfter(p, 2*time.Second, exited(0))
		}
		h := startFake(t, f, Config{})
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if n := testutil.ToFloat64(h.s.m.orphans); n != 1 {
			t.Errorf("orphans reaped %v, want 1", n)
		}
		wantExitCode(t, h.wait(), 0)
		if got := f.received(f.proc(2)); !slices.Equal(got, []syscall.Signal{syscall.SIGKILL}) {
			t.Errorf("the process left in the group got %v, want SIGKILL", got)
		}
		f.mu.Lock()
		remaining := len(f.procs)
		f.mu.Unlock()
		if remaining != 0 {
			t.Errorf("%d processes not reaped when Run returned", remaining)
		}
		if n := testutil.ToFloat64(h.s.m.orphans); n != 2 {
			t.Errorf("orphans reaped %v, want 2", n)
		}
	})
}

// A group member that SIGKILL cannot end (D state) delays Run's return by
// drainBound at most.
func TestFakeDrainBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeSys()
		f.setup = func(f *fakeSys, p *fakeProc) {
			stuck := f.spawnLocked(p.pgid, "stuck")
			stuck.unkillable = true
			f.exitAfter(p, time.Second, exited(0))
		}
		h := startFake(t, f, Config{})
		t0 := time.Now()
		wantExitCode(t, h.wait(), 0)
		if took := time.Since(t0); took != time.Second+drainBound {
			t.Errorf("Run returned %s after start, want the child's 1s + drainBound", took)
		}
	})
}

func TestFakeStartErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lookErr error
		runErr  error
		code    int
	}{
		{"not found", &exec.Error{Name: "app", Err: exec.ErrNotFound}, nil, 127},
		{"no such file", &exec.Error{Name: "app", Err: syscall.ENOENT}, nil, 127},
		{"permission", &exec.Error{Name: "app", Err: syscall.EACCES}, nil, 126},
		{"exec format", nil, syscall.ENOEXEC, 126},
		{"is a directory", nil, syscall.EISDIR, 126},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeSys()
				f.lookErr = map[string]error{"app": tc.lookErr}
				f.startErr = map[string]error{"/fake/app": tc.runErr}
				h := startFake(t, f, Config{})
				err := h.wait()
				var se *StartError
				if !errors.As(err, &se) || se.ExitCode() != tc.code || se.Argv0 != "app" {
					t.Fatalf("Run = %v, want a StartError exiting %d", err, tc.code)
				}
				if strings.Count(err.Error(), "app") != 1 {
					t.Errorf("error %q repeats the command", err)
				}
				if st := h.s.Status(); st.State != StateExited {
					t.Errorf("state %s", st.State)
				}
			})
		})
	}
}

// Exec runs commands as the supervisor's children: their status comes
// from its reaper.
func TestFakeExec(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeSys()
		f.setup = func(f *fakeSys, p *fakeProc) {
			switch p.argv[0] {
			case "ok":
				f.exitAfter(p, 10*time.Millisecond, exited(0))
			case "fail":
				f.exitAfter(p, 10*time.Millisecond, exited(3))
			case "hang":
				p.exitOn = nil
			}
		}
		// Exec waits for Run to start.
		s, err := newWithSys(Config{Argv: []string{"app"}, Env: []string{}, Logger: slog.New(slog.DiscardHandler)}, f)
		if err != nil {
			t.Fatal(err)
		}
		early := make(chan error, 1)
		go func() { early <- s.Exec(t.Context(), []string{"ok"}) }()
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { errc <- s.Run(ctx) }()
		if err := <-early; err != nil {
			t.Errorf("Exec before Run started = %v", err)
		}
		if err := s.Exec(t.Context(), []string{"fail"}); err == nil || err.Error() != "exec fail: exit status 3" {
			t.Errorf("Exec fail = %v", err)
		}
		tctx, tcancel := context.WithTimeout(t.Context(), time.Second)
		err = s.Exec(tctx, []string{"hang"})
		tcancel()
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "process group killed") {
			t.Errorf("Exec hang = %v", err)
		}
		f.lookErr = map[string]error{"missing": &exec.Error{Name: "missing", Err: exec.ErrNotFound}}
		if err := s.Exec(t.Context(), []string{"missing"}); !errors.Is(err, exec.ErrNotFound) || strings.Count(err.Error(), "missing") != 1 {
			t.Errorf("Exec missing = %v", err)
		}
		if err := s.Exec(t.Context(), nil); err == nil {
			t.Errorf("Exec of nothing = nil")
		}
		cancel()
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if n := testutil.ToFloat64(s.m.orphans); n != 0 {
			t.Errorf("Exec's children counted as orphans: %v", n)
		}
		if err := s.Exec(t.Context(), []string{"ok"}); !errors.Is(err, ErrStopped) {
			t.Errorf("Exec after Run = %v, want ErrStopped", err)
		}
		if _, err := s.Signal(t.Context(), syscall.SIGHUP); !errors.Is(err, ErrStopped) {
			t.Errorf("Signal after Run = %v, want ErrStopped", err)
		}
		if err := s.Run(t.Context()); err == nil {
			t.Errorf("a second Run = nil")
		}
	})
}

// A post-start hook of an earlier child does not mark a later one running.
func TestFakePostStartPerChild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeSys()
		posts := 0
		f.setup = func(f *fakeSys, p *fakeProc) {
			switch p.argv[0] {
			case "app":
				if len(f.all) == 1 {
					f.exitAfter(p, time.Second, exited(1))
				}
			case "post":
				posts++
				if posts == 1 {
					f.exitAfter(p, 5*time.Second, exited(0)) // outlives its child
				} else {
					p.exitOn = nil
				}
			}
		}
		h := startFake(t, f, Config{Restart: RestartOnFailure, RestartBackoff: time.Second, PostStart: Hook{Argv: []string{"post"}}, HookTimeout: time.Minute})
		time.Sleep(6 * time.Second)
		if st := h.s.Status(); st.State != StateStarting || st.Restarts != 1 {
			t.Errorf("second child with its post-start hook still running: %+v", st)
		}
		h.cancel()
		wantExitCode(t, h.wait(), 0)
	})
}
