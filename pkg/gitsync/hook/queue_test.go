package hook

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeRunner records its calls and blocks each until the test hands it a
// result, so the test decides what is running when.
type fakeRunner struct {
	results chan error
	mu      sync.Mutex
	calls   []string
}

func newFake() *fakeRunner { return &fakeRunner{results: make(chan error)} }

func (f *fakeRunner) Name() string { return "fake" }

func (f *fakeRunner) Run(ctx context.Context, hash, dir string) error {
	f.mu.Lock()
	f.calls = append(f.calls, hash+"@"+dir)
	f.mu.Unlock()
	select {
	case err := <-f.results:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeRunner) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

const backoff = 3 * time.Second

// startFake runs a Queue on a fakeRunner inside the current synctest bubble.
func startFake(t *testing.T) (*fakeRunner, *Queue, *Metrics) {
	f := newFake()
	m, _ := NewMetrics(nil)
	q := NewQueue(f, backoff, testLogger(t, nil), m)
	runQueue(t, q)
	return f, q, m
}

func runs(m *Metrics, result string) float64 {
	return testutil.ToFloat64(m.runs.WithLabelValues("fake", result))
}

func TestQueueOrderNewestWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, q, m := startFake(t)
		q.Send("a", "/wt/a")
		synctest.Wait() // a is running, blocked in the runner
		// Sends while a runs: they must return at once (the runner is
		// blocked) and only the newest may survive.
		q.Send("b", "/wt/b")
		q.Send("c", "/wt/c")
		if q.Idle() {
			t.Fatal("Idle with c waiting")
		}
		f.results <- nil // a done
		synctest.Wait()
		f.results <- nil // c done
		synctest.Wait()
		if got, want := f.Calls(), []string{"a@/wt/a", "c@/wt/c"}; !slices.Equal(got, want) {
			t.Fatalf("calls = %v, want %v (b skipped)", got, want)
		}
		if q.LastHash() != "c" || !q.Idle() {
			t.Fatalf("LastHash = %q, Idle = %v; want c, true", q.LastHash(), q.Idle())
		}
		if runs(m, "success") != 2 || runs(m, "error") != 0 {
			t.Fatalf("runs success=%v error=%v, want 2, 0", runs(m, "success"), runs(m, "error"))
		}
		if v := testutil.ToFloat64(m.pending.WithLabelValues("fake")); v != 0 {
			t.Fatalf("pending = %v after all ran, want 0", v)
		}
	})
}

func TestQueueCoalescesDuplicates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, q, _ := startFake(t)
		q.Send("a", "/wt/a")
		q.Send("a", "/wt/a") // before it starts
		synctest.Wait()
		q.Send("a", "/wt/a") // while it runs
		f.results <- nil
		synctest.Wait()
		q.Send("a", "/wt/a") // after it succeeded
		synctest.Wait()
		if got := f.Calls(); len(got) != 1 {
			t.Fatalf("calls = %v, want one run of a", got)
		}
	})
}

func TestQueueRetriesAfterBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, q, m := startFake(t)
		q.Send("a", "/wt/a")
		synctest.Wait()
		f.results <- errors.New("boom")
		synctest.Wait()
		time.Sleep(backoff - time.Millisecond)
		synctest.Wait()
		if n := len(f.Calls()); n != 1 {
			t.Fatalf("%d calls before the backoff ended, want 1", n)
		}
		if v := testutil.ToFloat64(m.pending.WithLabelValues("fake")); v != 1 {
			t.Fatalf("pending = %v while retrying, want 1", v)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait() // the retry is running
		f.results <- nil
		synctest.Wait()
		if got, want := f.Calls(), []string{"a@/wt/a", "a@/wt/a"}; !slices.Equal(got, want) {
			t.Fatalf("calls = %v, want %v", got, want)
		}
		if q.LastHash() != "a" || runs(m, "error") != 1 || runs(m, "success") != 1 {
			t.Fatalf("LastHash=%q error=%v success=%v; want a, 1, 1", q.LastHash(), runs(m, "error"), runs(m, "success"))
		}
	})
}

func TestQueueAbandonsFailedForNewer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, q, _ := startFake(t)
		q.Send("a", "/wt/a")
		synctest.Wait()
		f.results <- errors.New("boom")
		synctest.Wait()
		q.Send("b", "/wt/b") // during a's backoff
		time.Sleep(backoff)
		synctest.Wait()
		f.results <- nil
		synctest.Wait()
		if got, want := f.Calls(), []string{"a@/wt/a", "b@/wt/b"}; !slices.Equal(got, want) {
			t.Fatalf("calls = %v, want %v (a not retried)", got, want)
		}
		if q.LastHash() != "b" {
			t.Fatalf("LastHash = %q, want b", q.LastHash())
		}
	})
}

func TestQueueShutdownCancelsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		m, _ := NewMetrics(nil)
		q := NewQueue(f, backoff, testLogger(t, nil), m)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); q.Run(ctx) }()
		q.Send("a", "/wt/a")
		synctest.Wait()
		cancel()
		<-done // Run returned: the blocked runner saw ctx end
		if runs(m, "success")+runs(m, "error") != 0 {
			t.Fatal("a cancelled run was counted")
		}
		if q.LastHash() != "" || q.Idle() {
			t.Fatalf("LastHash = %q, Idle = %v after a cancelled run; want \"\", false", q.LastHash(), q.Idle())
		}
		// A later Run picks the hash up again.
		runQueue(t, q)
		synctest.Wait()
		f.results <- nil
		synctest.Wait()
		if q.LastHash() != "a" || len(f.Calls()) != 2 {
			t.Fatalf("after restart: LastHash = %q, calls = %v", q.LastHash(), f.Calls())
		}
	})
}

func TestSendNeverBlocks(t *testing.T) {
	// No Run at all: every Send must still return, and only the newest
	// hash is kept.
	f := newFake()
	q := NewQueue(f, backoff, testLogger(t, io.Discard), nil)
	for i := range 10000 {
		q.Send(strconv.Itoa(i), "/wt")
	}
	if q.next == nil || q.next.hash != "9999" {
		t.Fatalf("kept %+v, want only the last hash", q.next)
	}
}

func TestNewQueueDefaults(t *testing.T) {
	q := NewQueue(newFake(), 0, nil, nil)
	if q.backoff != DefaultBackoff || q.log == nil {
		t.Fatalf("backoff = %v, log = %v", q.backoff, q.log)
	}
	if !q.Idle() {
		t.Fatal("a new Queue is not Idle")
	}
}
