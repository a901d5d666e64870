// Package health is the probe sidecar of the single-container management
// pattern (Burns & Oppenheimer 2016, section 3): it gives any container the
// rich "upward" API (/healthz, /readyz, /metrics) without touching its code.
package health

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures the probe sidecar.
type Config struct {
	Logger   *slog.Logger          // nil: slog.Default()
	Registry prometheus.Registerer // nil: metrics not registered
}

// Checker runs health checks and reports them to the admin server.
type Checker struct {
	cfg Config
}

// New validates cfg; it does no I/O and starts nothing.
func New(cfg Config) (*Checker, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Checker{cfg: cfg}, nil
}

// Name identifies the component in logs and /readyz.
func (c *Checker) Name() string { return "health" }

// Run blocks until ctx ends.
func (c *Checker) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Ready is nil: with no checks there is nothing to wait for.
func (c *Checker) Ready() error { return nil }
