package reload

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Reloader applies a new configuration on request and counts the outcome
// in podkit_config_reloads_total and podkit_config_last_reload_successful.
type Reloader struct {
	// Apply reads the files and applies them all or nothing: on an error
	// the running configuration must stay.
	Apply    func() error
	Files    []*File          // polled every Interval; none: signals only
	Signals  <-chan os.Signal // SIGHUP; nil: none
	Interval time.Duration    // 0: DefaultInterval; < 0: signals only
	Logger   *slog.Logger

	reloads      *prometheus.CounterVec
	lastOK       prometheus.Gauge
	ok, failed   atomic.Int64
	lastRejected atomic.Bool
}

// Results returns the numbers of applied and rejected reloads, and whether
// the last one was rejected.
func (r *Reloader) Results() (applied, rejected int64, lastRejected bool) {
	return r.ok.Load(), r.failed.Load(), r.lastRejected.Load()
}

// Register creates the reload metrics on reg (nil: none). Call it once,
// before Run.
func (r *Reloader) Register(reg prometheus.Registerer) error {
	r.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "podkit_config_reloads_total",
		Help: "Configuration reloads (SIGHUP or a change of the file), by result: success, failure.",
	}, []string{"result"})
	r.lastOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "podkit_config_last_reload_successful",
		Help: "1 when the last reload was applied (or none was tried), 0 when it was rejected and the previous configuration runs.",
	})
	r.lastOK.Set(1)
	if reg == nil {
		return nil
	}
	if err := reg.Register(r.reloads); err != nil {
		return err
	}
	return reg.Register(r.lastOK)
}

// Run reloads on each signal and each file change until ctx is done.
func (r *Reloader) Run(ctx context.Context) {
	if r.reloads == nil {
		_ = r.Register(nil)
	}
	var tick <-chan time.Time
	iv := r.Interval
	if iv == 0 {
		iv = DefaultInterval
	}
	if len(r.Files) > 0 && iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.Signals:
			r.Reload("signal")
		case <-tick:
			for _, f := range r.Files {
				if f.Changed() {
					r.Reload("file changed")
					break
				}
			}
		}
	}
}

// Reload applies the configuration now; trigger says why, for the log.
func (r *Reloader) Reload(trigger string) error {
	if r.reloads == nil {
		_ = r.Register(nil)
	}
	log := r.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := r.Apply(); err != nil {
		r.reloads.WithLabelValues("failure").Inc()
		r.lastOK.Set(0)
		r.failed.Add(1)
		r.lastRejected.Store(true)
		log.Error("config reload rejected; the previous configuration stays", "trigger", trigger, "err", err)
		return err
	}
	r.reloads.WithLabelValues("success").Inc()
	r.lastOK.Set(1)
	r.ok.Add(1)
	r.lastRejected.Store(false)
	log.Info("config reloaded", "trigger", trigger)
	return nil
}
