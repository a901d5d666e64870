// Package load is mcload's engine: a closed-loop load generator for the
// memcached text protocol that verifies every value it reads. It measures
// memcached, twemproxy (nutcracker) and podkit memcache-proxy alike (issue 4,
// "Figures"); a bench driver calls Run in process, the mcload command wraps
// it in flags.
//
// Each connection is one goroutine (two when pipelining: a writer and a
// reader) with its own buffers, random source and latency histogram, so the
// generator allocates nothing per request and takes no lock; it shares a
// small machine with what it measures, and reports its own CPU time.
//
// Every value holds its key, a per-key version and a checksum (see
// appendValue). Each key is written by one connection only, so its versions
// are ordered: a get must return a version no older than the newest whose
// STORED was read before the get was sent.
package load

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podkit/podkit/internal/bench/benchkit"
)

// shared is the state of a run every connection reads.
type shared struct {
	cfg       Config
	filler    []byte
	acked     []atomic.Uint64 // per key: the newest version whose STORED was read
	base      time.Time       // request times are ns since base
	remaining atomic.Int64    // Ops mode: requests left to start
	stopped   atomic.Bool
	stopCh    chan struct{}
	stopOnce  sync.Once
}

func (s *shared) now() int64 { return int64(time.Since(s.base)) }

func (s *shared) stop() {
	s.stopOnce.Do(func() {
		s.stopped.Store(true)
		close(s.stopCh)
	})
}

// sleep waits d, or less if the run stops; it reports whether it did not stop.
func (s *shared) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.stopCh:
		return false
	case <-t.C:
		return true
	}
}

// Run connects Conns connections (all of them, or it fails), warms the key
// space if asked, then runs the measured phase until Duration has passed or
// Ops requests were made, or ctx is cancelled. Requests in flight at the end
// are waited for. The error is for a run that could not happen (config,
// connection); what went wrong during the run is in the Result
// (Result.Check).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	sh := &shared{
		cfg:    cfg,
		filler: newFiller(cfg.ValueSize),
		acked:  make([]atomic.Uint64, cfg.Keys),
		base:   time.Now(),
		stopCh: make(chan struct{}),
	}
	defer context.AfterFunc(ctx, sh.stop)()

	workers := make([]*worker, cfg.Conns)
	defer func() {
		for _, w := range workers {
			if w != nil {
				w.close()
			}
		}
	}()
	for i := range workers {
		w := newWorker(sh, i)
		w.conn, err = net.DialTimeout("tcp", w.addr, cfg.Timeout)
		if err != nil {
			return nil, fmt.Errorf("load: connection %d: %w", i+1, err)
		}
		workers[i] = w
	}

	res := &Result{Config: cfg}
	var total stats
	if cfg.Warmup {
		t := time.Now()
		st := runPhase(workers, true, max(cfg.Pipeline, 32))
		res.Warmup = WarmupResult{Sets: st.sets, Seconds: time.Since(t).Seconds()}
		total.errs = st.errs
		total.samples = st.samples
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}

	sh.remaining.Store(cfg.Ops)
	if cfg.Duration > 0 {
		defer time.AfterFunc(cfg.Duration, sh.stop).Stop()
	}
	var pid0 []time.Duration
	for _, pid := range cfg.PIDs {
		c, err := benchkit.CPU(pid)
		if err != nil {
			return nil, fmt.Errorf("load: target CPU: %w", err)
		}
		pid0 = append(pid0, c)
	}
	u0, s0 := benchkit.SelfCPU()
	t0 := time.Now()
	st := runPhase(workers, false, cfg.Pipeline)
	elapsed := time.Since(t0)
	u1, s1 := benchkit.SelfCPU()
	for i, pid := range cfg.PIDs {
		c, err := benchkit.CPU(pid)
		if err != nil {
			return nil, fmt.Errorf("load: target CPU: %w", err)
		}
		res.Targets = append(res.Targets, newProcUsage(pid, c-pid0[i], elapsed, st.gets+st.sets))
	}
	for _, w := range workers {
		w.close()
	}
	total.merge(st)
	res.fill(&total, elapsed)
	res.Self = newProcUsage(0, (u1-u0)+(s1-s0), elapsed, res.Ops)
	res.Self.UserSeconds, res.Self.SystemSeconds = (u1 - u0).Seconds(), (s1 - s0).Seconds()
	return res, nil
}

// runPhase runs a phase on every connection and returns the merged tally.
func runPhase(workers []*worker, warm bool, depth int) *stats {
	tallies := make([]stats, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() { w.runPhase(warm, &tallies[i], depth) })
	}
	wg.Wait()
	var st stats
	for i := range tallies {
		st.merge(&tallies[i])
	}
	return &st
}
