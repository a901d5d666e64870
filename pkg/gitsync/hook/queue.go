package hook

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Runner is one hook: Webhook, Exec, or a caller's own.
type Runner interface {
	// Name is the hook's kind ("webhook", "exechook"): a metric label and
	// the prefix of its flags.
	Name() string
	// Run runs the hook for hash, whose tree is dir. It returns when done
	// or when ctx ends; nil means success.
	Run(ctx context.Context, hash, dir string) error
}

// Queue hands new hashes from the syncer to one Runner; see the package
// comment for the semantics (git-sync's HookRunner, with the newest hash
// winning as there).
type Queue struct {
	r       Runner
	backoff time.Duration
	log     *slog.Logger
	m       queueMetrics
	wake    chan struct{} // capacity 1: "next may have changed"

	mu   sync.Mutex
	next *job   // the newest hash not yet started; nil if none
	last string // the newest hash sent: sending it again is a no-op
	busy bool   // Run holds a hash: running it or waiting out its backoff
	done string // the newest hash whose run succeeded
}

type job struct{ hash, dir string }

// NewQueue returns a Queue for r. backoff is the pause before retrying a
// failed run (<= 0: DefaultBackoff). log nil: slog.Default(); m nil:
// metrics not exported.
func NewQueue(r Runner, backoff time.Duration, log *slog.Logger, m *Metrics) *Queue {
	if backoff <= 0 {
		backoff = DefaultBackoff
	}
	if log == nil {
		log = slog.Default()
	}
	if m == nil {
		m, _ = NewMetrics(nil) // unregistered: cannot fail
	}
	q := &Queue{r: r, backoff: backoff, log: log.With("hook", r.Name()), m: m.forHook(r.Name()),
		wake: make(chan struct{}, 1)}
	q.m.pending.Set(0)
	return q
}

// Send queues hash, whose tree is dir, replacing any hash still waiting.
// It never blocks on a run.
func (q *Queue) Send(hash, dir string) {
	q.mu.Lock()
	if hash == q.last {
		q.mu.Unlock()
		return
	}
	q.last = hash
	if q.next != nil {
		q.log.Debug("hook skipped: a newer hash was synced first", "hash", q.next.hash, "newer", hash)
	}
	q.next = &job{hash: hash, dir: dir}
	q.m.pending.Set(1)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default: // a wake-up is already due; it will see next
	}
}

// Run runs hooks until ctx ends, cancelling a run in progress then.
func (q *Queue) Run(ctx context.Context) {
	for ctx.Err() == nil {
		if j := q.take(); j != nil {
			q.runUntilDone(ctx, j)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
	}
}

// Idle reports whether every hash sent has run successfully or been
// superseded.
func (q *Queue) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.next == nil && !q.busy
}

// LastHash returns the newest hash whose hook succeeded ("" if none yet).
func (q *Queue) LastHash() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.done
}

func (q *Queue) take() *job {
	q.mu.Lock()
	defer q.mu.Unlock()
	j := q.next
	q.next = nil
	q.busy = j != nil
	return j
}

// runUntilDone runs j until it succeeds, a newer hash is waiting after a
// failure, or ctx ends.
func (q *Queue) runUntilDone(ctx context.Context, j *job) {
	for {
		start := time.Now()
		err := q.r.Run(ctx, j.hash, j.dir)
		if err == nil {
			q.m.ok.Inc()
			q.log.Info("hook succeeded", "hash", j.hash, "duration", time.Since(start))
			q.finish(j.hash, true)
			return
		}
		if ctx.Err() != nil {
			q.log.Info("hook cancelled by shutdown", "hash", j.hash)
			q.requeue(j)
			return
		}
		q.m.failed.Inc()
		q.log.Warn("hook failed; will retry", "hash", j.hash, "retry_in", q.backoff, "err", err)
		t := time.NewTimer(q.backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			q.requeue(j)
			return
		case <-t.C:
		}
		if newer, ok := q.waiting(); ok {
			// The old tree is no longer served: telling anyone about it
			// now would be wrong, and retrying it would delay the new one.
			q.log.Info("hook abandoned for a newer hash", "hash", j.hash, "newer", newer)
			q.finish("", false)
			return
		}
	}
}

func (q *Queue) waiting() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.next == nil {
		return "", false
	}
	return q.next.hash, true
}

func (q *Queue) finish(hash string, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.busy = false
	if ok {
		q.done = hash
		if q.next == nil {
			q.m.pending.Set(0)
		}
	}
}

// requeue puts back j, cut short by shutdown, unless a newer hash replaced
// it: it has not run, so Idle stays false and a later Run retries it.
func (q *Queue) requeue(j *job) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.busy = false
	if q.next == nil {
		q.next = j
	}
}
