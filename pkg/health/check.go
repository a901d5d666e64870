package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Status is a check's current verdict.
type Status string

// Check statuses.
const (
	// StatusPending: no verdict yet (a readiness or startup check before
	// its first success or its failure threshold, or a check waiting for the
	// startup checks). Not ready.
	StatusPending Status = "pending"
	StatusOK      Status = "ok"
	StatusFailing Status = "failing"
)

const lastErrorLimit = 1 << 10

// check is one configured check and its state. The probing goroutine is the
// only writer; the HTTP endpoints read the state under mu and never wait for
// a probe.
type check struct {
	spec   Spec // defaults applied
	target string
	p      prober
	m      checkMetrics
	log    *slog.Logger

	mu             sync.Mutex
	status         Status
	lastErr        string
	lastLatency    time.Duration
	consecFail     int
	consecSucc     int
	lastTransition time.Time
	lastProbe      time.Time
	probes         uint64
}

func newCheck(spec Spec, p prober, m checkMetrics, log *slog.Logger) *check {
	c := &check{spec: spec, p: p, m: m, log: log.With("check", spec.Name, "kind", string(spec.Kind)), status: StatusPending}
	c.target = redactTarget(spec.Target)
	if spec.Func != nil && spec.Target == "" {
		c.target = "(func)"
	}
	if spec.Kind == Liveness {
		// The kubelet counts a liveness probe as passing until it has failed
		// failureThreshold times: a restart needs proof.
		c.status = StatusOK
		m.up.Set(1)
	} else {
		m.up.Set(0)
	}
	return c
}

// probeOnce runs one probe within the check's timeout and records it. It
// returns false when ctx ended during the probe: a shutdown is not a verdict.
func (c *check) probeOnce(ctx context.Context) bool {
	pctx, cancel := context.WithTimeout(ctx, c.spec.Timeout)
	start := time.Now()
	err := c.p.probe(pctx)
	took := time.Since(start)
	timedOut := errors.Is(pctx.Err(), context.DeadlineExceeded)
	cancel()
	if ctx.Err() != nil {
		return false
	}
	if err == nil && timedOut {
		// A Func that ignored ctx: as for the kubelet, too late is a failure.
		err = fmt.Errorf("answered after the %s timeout", c.spec.Timeout)
	}
	c.record(start.Add(took), took, err)
	return true
}

// record applies one probe result with the kubelet's threshold rules: the
// verdict flips to failing after FailureThreshold consecutive failures and
// to ok after SuccessThreshold consecutive successes.
func (c *check) record(now time.Time, took time.Duration, err error) {
	c.m.duration.Observe(took.Seconds())
	if err != nil {
		c.m.failures.Inc()
	}
	c.mu.Lock()
	c.lastProbe, c.lastLatency = now, took
	c.probes++
	from := c.status
	if err == nil {
		c.consecSucc++
		c.consecFail = 0
		if c.consecSucc >= c.spec.SuccessThreshold {
			c.status = StatusOK
		}
	} else {
		c.lastErr = truncate(err.Error(), lastErrorLimit)
		c.consecFail++
		c.consecSucc = 0
		if c.consecFail >= c.spec.FailureThreshold {
			c.status = StatusFailing
		}
	}
	to, fails := c.status, c.consecFail
	if to != from {
		c.lastTransition = now
	}
	c.mu.Unlock()

	if err != nil {
		c.log.Debug("probe failed", "err", err, "took", took, "consecutive_failures", fails)
	}
	if to == from {
		return
	}
	switch to {
	case StatusOK:
		c.m.up.Set(1)
		c.m.toOK.Inc()
		c.log.Info("check ok", "was", string(from))
	case StatusFailing:
		c.m.up.Set(0)
		c.m.toFailing.Inc()
		c.log.Warn("check failing", "err", err, "consecutive_failures", fails)
	}
}

// verdict is the status and, unless ok, why.
func (c *check) verdict() (Status, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.status == StatusOK:
		return StatusOK, ""
	case c.lastErr == "":
		return c.status, "no result yet"
	default:
		return c.status, c.lastErr
	}
}

// CheckStatus is one check as /checks reports it.
type CheckStatus struct {
	Name   string `json:"name"`
	Kind   Kind   `json:"kind"`
	Target string `json:"target"` // URL passwords redacted
	Status Status `json:"status"`
	// LastError is the most recent failure's message, kept after recovery.
	LastError            string    `json:"last_error,omitempty"`
	LastLatencySeconds   float64   `json:"last_latency_seconds"`
	ConsecutiveFailures  int       `json:"consecutive_failures"`
	ConsecutiveSuccesses int       `json:"consecutive_successes"`
	Probes               uint64    `json:"probes"`
	LastTransition       time.Time `json:"last_transition,omitzero"`
	LastProbe            time.Time `json:"last_probe,omitzero"`

	PeriodSeconds       float64 `json:"period_seconds"`
	TimeoutSeconds      float64 `json:"timeout_seconds"`
	InitialDelaySeconds float64 `json:"initial_delay_seconds"`
	FailureThreshold    int     `json:"failure_threshold"`
	SuccessThreshold    int     `json:"success_threshold"`
}

func (c *check) snapshot() CheckStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CheckStatus{
		Name:                 c.spec.Name,
		Kind:                 c.spec.Kind,
		Target:               c.target,
		Status:               c.status,
		LastError:            c.lastErr,
		LastLatencySeconds:   c.lastLatency.Seconds(),
		ConsecutiveFailures:  c.consecFail,
		ConsecutiveSuccesses: c.consecSucc,
		Probes:               c.probes,
		LastTransition:       c.lastTransition,
		LastProbe:            c.lastProbe,
		PeriodSeconds:        c.spec.Period.Seconds(),
		TimeoutSeconds:       c.spec.Timeout.Seconds(),
		InitialDelaySeconds:  c.spec.InitialDelay.Seconds(),
		FailureThreshold:     c.spec.FailureThreshold,
		SuccessThreshold:     c.spec.SuccessThreshold,
	}
}
