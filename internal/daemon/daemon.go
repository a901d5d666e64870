// Package daemon runs podkit's long-lived components under one lifecycle:
// the paper's "downward" API (Burns & Oppenheimer 2016, section 3). It binds
// the admin server, runs the components, and on SIGTERM/SIGINT drains
// readiness, cancels them and waits up to the shutdown timeout; a second
// signal forces the exit.
package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/podkit/podkit/internal/admin"
	"github.com/podkit/podkit/internal/cli"
)

// A Component is one long-running part of a daemon.
type Component interface {
	Name() string
	// Run blocks until ctx is cancelled, then stops, flushes and returns nil;
	// an error means it failed and takes the whole daemon down.
	Run(ctx context.Context) error
	// Ready is nil once the component can serve; the error says why not.
	Ready() error
}

// Config configures a daemon.
type Config struct {
	AdminAddr       string
	ShutdownTimeout time.Duration // 0: 10s
	Logger          *slog.Logger  // nil: slog.Default()
	// Signals delivers stop requests; nil subscribes to SIGTERM and SIGINT.
	// Tests and `podkit run` (which forwards signals) supply their own.
	Signals <-chan os.Signal
}

// trimDelay is how long after start the daemon trims its executable's
// pages: start-up (flag parsing, the first probes, the first scrape) is over.
const trimDelay = 2 * time.Second

// Daemon owns the admin server and the components' lifecycle.
type Daemon struct {
	cfg   Config
	log   *slog.Logger
	admin *admin.Server
	hup   chan os.Signal // nil until ReloadSignals
}

// New validates cfg and builds the admin server; it does no I/O.
func New(cfg Config) (*Daemon, error) {
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.ShutdownTimeout < 0 {
		return nil, cli.Usagef("shutdown-timeout", "must be > 0 (got %s)", cfg.ShutdownTimeout)
	}
	if cfg.AdminAddr == "" {
		return nil, cli.Usagef("admin-addr", "must not be empty")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Daemon{
		cfg: cfg,
		log: cfg.Logger,
		admin: admin.New(admin.Config{
			Addr:    cfg.AdminAddr,
			Logger:  cfg.Logger.With("component", "admin"),
			Version: cli.Version,
			Commit:  cli.Commit,
		}),
	}, nil
}

// ReloadSignals delivers SIGHUP, the request to re-read configuration
// files, until Run returns. Daemons without files do not subscribe, so
// SIGHUP keeps its default meaning for them.
func (d *Daemon) ReloadSignals() <-chan os.Signal {
	if d.hup == nil {
		d.hup = make(chan os.Signal, 1)
		signal.Notify(d.hup, syscall.SIGHUP)
	}
	return d.hup
}

// Admin is the shared admin server, for components to add metrics and pages.
func (d *Daemon) Admin() *admin.Server { return d.admin }

// Listen binds the admin address, so a clash fails before anything starts;
// Run calls it when the caller has not.
func (d *Daemon) Listen() error {
	if d.admin.Addr() != nil {
		return nil
	}
	return d.admin.Listen()
}

// Run serves the admin API and runs the components until a signal, ctx's end
// or the first component's return. It returns the first component error,
// cli.ErrForced when the stop was cut short, or nil after a clean stop.
func (d *Daemon) Run(ctx context.Context, comps ...Component) error {
	if err := d.Listen(); err != nil {
		return err
	}
	sigs := d.cfg.Signals
	if sigs == nil {
		ch := make(chan os.Signal, 2)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
		defer signal.Stop(ch)
		sigs = ch
	}
	for _, c := range comps {
		d.admin.AddReadiness(c.Name(), c.Ready)
	}

	adminErr := make(chan error, 1)
	go func() { adminErr <- d.admin.Serve() }()
	d.log.Info("admin server listening", "addr", d.admin.Addr().String())

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	g := newGroup(runCtx)
	for _, c := range comps {
		g.Go(c.Name(), c.Run)
	}
	g.closeWhenDone()
	// Once started, give back the binary's pages start-up touched (see
	// cli.TrimExecutable); what the daemon keeps using comes back.
	trim := time.AfterFunc(trimDelay, func() { _, _ = cli.TrimExecutable() })
	defer trim.Stop()
	// And after each load spike, once idle, its heap.
	go cli.ReleaseMemory(runCtx, 0)
	if d.hup != nil {
		defer signal.Stop(d.hup)
	}

	var cause string
	select {
	case sig := <-sigs:
		cause = "signal " + sig.String()
	case <-ctx.Done():
		cause = "context done"
	case <-g.firstDone:
		cause = "component " + g.firstName() + " returned"
	case err := <-adminErr:
		g.setErr(err)
		cause = "admin server failed"
	}
	d.log.Info("stopping", "cause", cause, "shutdown_timeout", d.cfg.ShutdownTimeout.String())
	start := time.Now()
	d.admin.SetDraining()
	cancel()

	// Graceful means components first, then the admin server once its
	// in-flight requests finish (so /metrics and /readyz answer to the end);
	// all of it within the shutdown timeout.
	stopped := make(chan struct{})
	go func() {
		<-g.allDone
		_ = d.admin.Shutdown(context.Background())
		close(stopped)
	}()
	timer := time.NewTimer(d.cfg.ShutdownTimeout)
	defer timer.Stop()
	var forced error
	select {
	case <-stopped:
	case sig := <-sigs:
		forced = fmt.Errorf("%w: second signal %s during shutdown", cli.ErrForced, sig)
	case <-timer.C:
		forced = fmt.Errorf("%w: shutdown took longer than --shutdown-timeout %s", cli.ErrForced, d.cfg.ShutdownTimeout)
	}
	if forced != nil {
		d.log.Error("stop cut short", "err", forced, "still_running", g.running())
		_ = d.admin.Close()
		return forced
	}
	d.log.Info("stopped", "took", time.Since(start).Round(time.Millisecond).String())
	return g.err()
}
