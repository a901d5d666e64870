package gitsync

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the syncer's own; git-sync's git_sync_count_total{status}
// is podkit_gitsync_syncs_total{status}.
type metrics struct {
	syncs    *prometheus.CounterVec   // status: success, noop, error
	duration *prometheus.HistogramVec // status
	failures prometheus.Gauge         // consecutive
	lastOK   prometheus.Gauge
	reclones prometheus.Counter
	compacts prometheus.Counter
	swaps    prometheus.Counter
	written  prometheus.Counter
	linked   prometheus.Counter
	bytes    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "podkit_gitsync_syncs_total",
			Help: "Sync attempts by status: success (a new commit published), noop (the ref had not moved), error."}, []string{"status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "podkit_gitsync_sync_duration_seconds",
			Help:    "Time of a sync attempt, from the remote ref check to the link swap, by status.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 120}}, []string{"status"}),
		failures: prometheus.NewGauge(prometheus.GaugeOpts{Name: "podkit_gitsync_consecutive_failures",
			Help: "Failed sync attempts since the last good one; the last good tree is served meanwhile."}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "podkit_gitsync_last_success_timestamp_seconds",
			Help: "Unix time of the last sync attempt that succeeded (new commit or none)."}),
		reclones: prometheus.NewCounter(prometheus.CounterOpts{Name: "podkit_gitsync_reclones_total",
			Help: "Local repositories thrown away as unusable (corrupt) and fetched again."}),
		compacts: prometheus.NewCounter(prometheus.CounterOpts{Name: "podkit_gitsync_gc_total",
			Help: "Housekeeping runs (--git-gc): the local repository replaced by a fresh shallow copy."}),
		swaps: prometheus.NewCounter(prometheus.CounterOpts{Name: "podkit_gitsync_link_swaps_total",
			Help: "Times the link was pointed at a new tree."}),
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: "podkit_gitsync_files_written_total",
			Help: "Files written into new trees (changed since the previous tree)."}),
		linked: prometheus.NewCounter(prometheus.CounterOpts{Name: "podkit_gitsync_files_linked_total",
			Help: "Files hard-linked from the previous tree (unchanged)."}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "podkit_gitsync_bytes_written_total",
			Help: "Bytes of the files written into new trees."}),
	}
	for _, s := range []string{"success", "noop", "error"} {
		m.syncs.WithLabelValues(s)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.syncs, m.duration, m.failures, m.lastOK, m.reclones, m.compacts,
			m.swaps, m.written, m.linked, m.bytes} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
