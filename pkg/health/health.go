// Package health is the probe sidecar of the single-container management
// pattern (Burns & Oppenheimer 2016, section 3): it gives any container the
// rich "upward" API (/healthz, /readyz, /checks, /metrics) without touching
// its code, by probing it the way the kubelet would: HTTP(S), TCP, gRPC
// (grpc.health.v1) and exec checks with Kubernetes probe semantics (kinds,
// periods, timeouts, thresholds, startup gating). It replaces hand-written
// /healthz handlers and grpc-health-probe style exec probes. `podkit run`
// uses the same engine to describe its child.
package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Checker runs checks, each in its own goroutine on its own period, and
// serves their cached verdicts: a hanging check delays nothing but itself.
type Checker struct {
	cfg    Config
	log    *slog.Logger
	checks []*check

	startupLeft atomic.Int32  // startup checks that have not succeeded yet
	startupDone chan struct{} // closed when startupLeft reaches 0
	running     atomic.Bool
}

// New validates cfg and builds the checks; it does no I/O and starts nothing.
// Errors wrap ErrBadSpec and name the check and the field.
func New(cfg Config) (*Checker, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Checker{cfg: cfg, log: cfg.Logger, startupDone: make(chan struct{})}
	seen := map[string]bool{}
	var specs []Spec
	var probers []prober
	for _, s := range cfg.Checks {
		s = s.withDefaults()
		p, err := s.compile()
		if err != nil {
			return nil, err
		}
		if seen[s.Name] {
			return nil, &SpecError{Name: s.Name, Msg: "name used twice"}
		}
		seen[s.Name] = true
		specs, probers = append(specs, s), append(probers, p)
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, fmt.Errorf("health: metrics: %w", err)
	}
	for i, s := range specs {
		c.checks = append(c.checks, newCheck(s, probers[i], m.forCheck(s.Name, s.Kind), c.log))
		if s.Kind == Startup {
			c.startupLeft.Add(1)
		}
	}
	if c.startupLeft.Load() == 0 {
		close(c.startupDone)
	}
	return c, nil
}

// Name identifies the component in logs and /readyz.
func (c *Checker) Name() string { return "health" }

// Run probes until ctx ends, then waits for every probe in flight (an exec
// probe's process group is killed) and returns nil.
func (c *Checker) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("health: Run called twice")
	}
	if len(c.checks) > 0 {
		c.log.Info("checking", "checks", len(c.checks))
	}
	now := time.Now()
	for _, ch := range c.checks {
		ch.log.Debug("check configured", "target", ch.target, "period", ch.spec.Period, "timeout", ch.spec.Timeout,
			"initial_delay", ch.spec.InitialDelay, "failure_threshold", ch.spec.FailureThreshold, "success_threshold", ch.spec.SuccessThreshold)
		ch.mu.Lock()
		ch.lastTransition = now // the initial status holds from here
		ch.mu.Unlock()
	}
	var wg sync.WaitGroup
	for _, ch := range c.checks {
		wg.Go(func() { c.loop(ctx, ch) })
	}
	<-ctx.Done() // startup checks end early; the component runs until stopped
	wg.Wait()
	for _, ch := range c.checks {
		if ch.p.close != nil {
			ch.p.close()
		}
	}
	return nil
}

// loop is one check's life, as the kubelet's probe worker: wait out the
// initial delay; unless it is a startup check, wait for every startup check
// to pass; then probe every period. A startup check stops after its first
// success.
func (c *Checker) loop(ctx context.Context, ch *check) {
	if !sleep(ctx, ch.spec.InitialDelay) {
		return
	}
	if ch.spec.Kind != Startup {
		select {
		case <-c.startupDone:
		case <-ctx.Done():
			return
		}
	}
	ticker := time.NewTicker(ch.spec.Period)
	defer ticker.Stop()
	for {
		if !ch.probeOnce(ctx) {
			return
		}
		if ch.spec.Kind == Startup {
			if st, _ := ch.verdict(); st == StatusOK {
				if c.startupLeft.Add(-1) == 0 {
					c.log.Info("startup checks passed")
					close(c.startupDone)
				}
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// StartupDone reports whether every startup check has succeeded once.
func (c *Checker) StartupDone() bool {
	select {
	case <-c.startupDone:
		return true
	default:
		return false
	}
}

// Ready is nil once every startup check has passed and every readiness check
// is ok; the error names the checks holding readiness back and why. It reads
// cached state and never waits for a probe.
func (c *Checker) Ready() error {
	if !c.StartupDone() {
		// Not ready even when every startup check has just passed: until
		// startupDone is closed the readiness checks have not started.
		if err := c.failing("startup pending", func(ch *check) bool { return ch.spec.Kind == Startup }, StatusOK); err != nil {
			return err
		}
		return errors.New("startup pending: startup checks passed, readiness checks starting")
	}
	return c.failing("not ready", func(ch *check) bool { return ch.spec.Kind == Readiness }, StatusOK)
}

// Live is nil unless a liveness check is failing, or a startup check failed
// its failure threshold (where the kubelet would restart the container). It
// is what /healthz serves; it never waits for a probe.
func (c *Checker) Live() error {
	return c.failing("failing", func(ch *check) bool { return ch.spec.Kind != Readiness }, StatusOK, StatusPending)
}

// failing lists the checks selected by which whose status is none of okay.
func (c *Checker) failing(prefix string, which func(*check) bool, okay ...Status) error {
	var bad []string
	for _, ch := range c.checks {
		if !which(ch) {
			continue
		}
		st, why := ch.verdict()
		isOK := false
		for _, o := range okay {
			isOK = isOK || st == o
		}
		if !isOK {
			bad = append(bad, ch.spec.Name+": "+truncate(why, 200))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s", prefix, strings.Join(bad, "; "))
}

// Checks reports every check, in configuration order.
func (c *Checker) Checks() []CheckStatus {
	out := make([]CheckStatus, 0, len(c.checks))
	for _, ch := range c.checks {
		out = append(out, ch.snapshot())
	}
	return out
}
