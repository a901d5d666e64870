package health

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

var errDown = errors.New("down")

// script is a Func check whose results are given in advance; past the end,
// the last result repeats.
type script struct {
	mu      sync.Mutex
	results []error
	calls   int
}

func (s *script) probe(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := min(s.calls, len(s.results)-1)
	s.calls++
	return s.results[i]
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func results(pattern string) []error {
	var out []error
	for _, r := range pattern {
		if r == 'F' {
			out = append(out, errDown)
		} else {
			out = append(out, nil)
		}
	}
	return out
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// start runs a checker in the test's bubble and stops it at the end.
func start(t *testing.T, specs ...Spec) *Checker {
	t.Helper()
	c, err := New(Config{Checks: specs, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	return c
}

func statusOf(t *testing.T, c *Checker, name string) CheckStatus {
	t.Helper()
	for _, s := range c.Checks() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no check %q", name)
	return CheckStatus{}
}

// The kubelet's threshold rules, probe by probe, in fake time.
func TestThresholds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		kind     Kind
		ft, st   int
		pattern  string
		statuses string // after each probe: p(ending) o(k) f(ailing)
	}{
		{"readiness needs a first success", Readiness, 3, 1, "FFS", "ppo"},
		{"readiness fails after the threshold", Readiness, 3, 1, "FFFS", "ppfo"},
		{"readiness success threshold", Readiness, 3, 2, "FFFSSFSS", "ppffoooo"},
		{"success run reset by a failure", Readiness, 1, 3, "SSFSSS", "ppfffo"},
		{"liveness ok until proven failing", Liveness, 2, 1, "FSFFS", "ooofo"},
		{"liveness threshold 1", Liveness, 1, 1, "FSF", "fof"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &script{results: results(tc.pattern)}
				const period = 10 * time.Second
				c := start(t, Spec{Name: "c", Kind: tc.kind, Period: period, FailureThreshold: tc.ft, SuccessThreshold: tc.st, Func: s.probe})
				for i, want := range tc.statuses {
					synctest.Wait()
					got := statusOf(t, c, "c")
					if got.Probes != uint64(i+1) || string(got.Status[0]) != string(want) {
						t.Fatalf("after probe %d (%c): %d probes, status %s; want %c", i+1, tc.pattern[i], got.Probes, got.Status, want)
					}
					time.Sleep(period)
				}
			})
		})
	}
}

func TestInitialStateAndDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		live := &script{results: results("S")}
		ready := &script{results: results("S")}
		c := start(t,
			Spec{Name: "live", Kind: Liveness, InitialDelay: 30 * time.Second, Func: live.probe},
			Spec{Name: "ready", InitialDelay: 30 * time.Second, Func: ready.probe},
		)
		synctest.Wait()
		if err := c.Live(); err != nil {
			t.Errorf("Live before any probe = %v, want nil", err)
		}
		if err := c.Ready(); err == nil || err.Error() != "not ready: ready: no result yet" {
			t.Errorf("Ready before any probe = %v", err)
		}
		time.Sleep(30*time.Second - time.Nanosecond)
		synctest.Wait()
		if live.count()+ready.count() != 0 {
			t.Fatalf("probed before the initial delay: %d %d", live.count(), ready.count())
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if live.count() != 1 || ready.count() != 1 || c.Ready() != nil {
			t.Fatalf("at the initial delay: %d %d probes, Ready %v", live.count(), ready.count(), c.Ready())
		}
		time.Sleep(DefaultPeriod) // the default period, as Kubernetes'
		synctest.Wait()
		if live.count() != 2 {
			t.Fatalf("%d probes one period later, want 2", live.count())
		}
	})
}

func TestStartupGatesTheOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boot := &script{results: results("FFS")}
		ready := &script{results: results("S")}
		live := &script{results: results("F")}
		c := start(t,
			Spec{Name: "boot", Kind: Startup, Period: 5 * time.Second, FailureThreshold: 10, Func: boot.probe},
			Spec{Name: "ready", Func: ready.probe},
			Spec{Name: "live", Kind: Liveness, FailureThreshold: 1, Func: live.probe},
		)
		for range 2 {
			synctest.Wait()
			if err := c.Ready(); err == nil || !strings.HasPrefix(err.Error(), "startup pending: boot: down") {
				t.Fatalf("Ready during startup = %v", err)
			}
			if err := c.Live(); err != nil {
				t.Fatalf("Live during startup = %v: liveness waits for startup", err)
			}
			if ready.count()+live.count() != 0 || c.StartupDone() {
				t.Fatalf("readiness/liveness probed during startup")
			}
			time.Sleep(5 * time.Second)
		}
		synctest.Wait() // t=10s: boot succeeds, the others probe at once
		if !c.StartupDone() || ready.count() != 1 || live.count() != 1 {
			t.Fatalf("after startup: done %v, probes %d %d", c.StartupDone(), ready.count(), live.count())
		}
		if err := c.Ready(); err != nil {
			t.Errorf("Ready = %v", err)
		}
		if err := c.Live(); err == nil || err.Error() != "failing: live: down" {
			t.Errorf("Live = %v", err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if boot.count() != 3 {
			t.Errorf("startup check probed %d times, want 3: it stops after its first success", boot.count())
		}
		if ready.count() != 7 {
			t.Errorf("readiness probed %d times in 60s at the default 10s period, want 7", ready.count())
		}
	})
}

// A startup check past its failure threshold fails liveness: the kubelet
// would restart the container.
func TestStartupExhaustedFailsLiveness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boot := &script{results: results("F")}
		c := start(t, Spec{Name: "boot", Kind: Startup, Period: time.Second, Func: boot.probe})
		time.Sleep(time.Second) // probes at 0s and 1s
		synctest.Wait()
		if err := c.Live(); err != nil {
			t.Fatalf("Live after 2 of 3 failures = %v", err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if err := c.Live(); err == nil || err.Error() != "failing: boot: down" {
			t.Fatalf("Live after 3 failures = %v", err)
		}
		if err := c.Ready(); err == nil || !strings.Contains(err.Error(), "startup pending") {
			t.Fatalf("Ready = %v", err)
		}
	})
}

// A hanging check costs only its own goroutine: the others keep their
// schedule and the verdicts answer at once.
func TestHangingCheckBlocksNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fast := &script{results: results("S")}
		sleepy := func(ctx context.Context) error { time.Sleep(3 * time.Second); return nil } // ignores ctx
		c := start(t,
			Spec{Name: "hang", Timeout: 5 * time.Second, Func: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
			Spec{Name: "sleepy", Kind: Liveness, FailureThreshold: 1, Func: sleepy},
			Spec{Name: "fast", Period: time.Second, Func: fast.probe},
		)
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if fast.count() != 5 {
			t.Errorf("fast check probed %d times in 4s at 1s, want 5", fast.count())
		}
		if err := c.Ready(); err == nil || err.Error() != "not ready: hang: no result yet" {
			t.Errorf("Ready = %v", err)
		}
		if err := c.Live(); err == nil || err.Error() != "failing: sleepy: answered after the 1s timeout" {
			t.Errorf("Live = %v: a late success is a failure", err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if s := statusOf(t, c, "hang"); s.Probes != 1 || s.LastError != "context deadline exceeded" || s.LastLatencySeconds != 5 {
			t.Errorf("hang after its timeout: %+v", s)
		}
	})
}

// On shutdown, Run cancels probes in flight and waits for them; an aborted
// probe is not a verdict.
func TestRunStopsProbesInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(Config{Logger: quiet, Checks: []Spec{{Name: "hang", Timeout: time.Hour,
			Func: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		time.Sleep(time.Minute)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v", err)
		}
		if s := statusOf(t, c, "hang"); s.Probes != 0 || s.Status != StatusPending {
			t.Fatalf("after shutdown: %+v", s)
		}
		if err := c.Run(t.Context()); err == nil {
			t.Fatal("a second Run succeeded")
		}
	})
}

func TestNoChecks(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Ready() != nil || c.Live() != nil || !c.StartupDone() || len(c.Checks()) != 0 {
		t.Fatal("a checker without checks is not ready and live")
	}
}

func TestNewRejects(t *testing.T) {
	ok := func(context.Context) error { return nil }
	for _, tc := range []struct {
		specs []Spec
		err   string
	}{
		{[]Spec{{Name: "a", Func: ok}, {Name: "a", Func: ok}}, "a: name used twice"},
		{[]Spec{{Name: "", Func: ok}}, `name ""`},
		{[]Spec{{Name: "a", Kind: "sometimes", Func: ok}}, `a: kind "sometimes"`},
		{[]Spec{{Name: "a", Period: -time.Second, Func: ok}}, "a: period must be > 0"},
		{[]Spec{{Name: "a", InitialDelay: -1, Func: ok}}, "a: initial-delay must be >= 0"},
		{[]Spec{{Name: "a", FailureThreshold: -1, Func: ok}}, "failure-threshold must be >= 1"},
		{[]Spec{{Name: "a", ExpectBody: "x", Func: ok}}, "expect-body applies to HTTP targets only"},
		{[]Spec{{Name: "a", Target: "ftp://x"}}, `a: target: scheme "ftp": want`},
	} {
		_, err := New(Config{Checks: tc.specs})
		if err == nil || !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%v) = %v, want ErrBadSpec containing %q", tc.specs, err, tc.err)
		}
	}
}

// Run is a daemon component: it returns only when stopped, even once its
// startup checks are done or when it has no checks at all.
func TestRunBlocksUntilStopped(t *testing.T) {
	for _, specs := range [][]Spec{nil, {{Name: "boot", Kind: Startup, Func: func(context.Context) error { return nil }}}} {
		synctest.Test(t, func(t *testing.T) {
			c, err := New(Config{Logger: quiet, Checks: specs})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			time.Sleep(time.Hour)
			synctest.Wait()
			select {
			case err := <-done:
				t.Fatalf("Run returned %v before it was stopped", err)
			default:
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Between a startup check's success and the end of startup (when the
// readiness checks start), readiness must not flash 200: that window made
// /readyz pass before any readiness check had run.
func TestReadyWaitsForStartupDone(t *testing.T) {
	ok := &script{results: results("S")}
	c, err := New(Config{Checks: []Spec{
		{Name: "boot", Kind: Startup, Func: ok.probe},
		{Name: "ready", Func: ok.probe},
	}})
	if err != nil {
		t.Fatal(err)
	}
	boot := c.checks[0]
	boot.mu.Lock()
	boot.status = StatusOK // as record leaves it just before startup is declared done
	boot.mu.Unlock()
	if err := c.Ready(); err == nil || !strings.HasPrefix(err.Error(), "startup pending") {
		t.Fatalf("Ready with startup passed but not done = %v", err)
	}
}
