package series

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

type reason uint8

const (
	reasonMaxSeries reason = iota
	reasonConflict
	reasonInvalidName
	reasonInvalidLabel
	reasonNegative
	numReasons
)

var reasonNames = [numReasons]string{"max_series", "type_conflict", "invalid_name", "invalid_label", "illegal_negative_counter"}

type counters struct {
	rejected  [numReasons]atomic.Uint64
	conflicts [5]atomic.Uint64 // by Type
	created   [5]atomic.Uint64
	expired   [5]atomic.Uint64
}

func (c *counters) reject(r reason) { c.rejected[r].Add(1) }

func (c *counters) conflict(t Type) {
	c.rejected[reasonConflict].Add(1)
	c.conflicts[t].Add(1)
}

// Stats are the store's counts since New.
type Stats struct {
	Series    map[string]int    // live series by type ("counter", ...)
	Rejected  map[string]uint64 // updates rejected, by reason (max_series, type_conflict, invalid_name, invalid_label, illegal_negative_counter)
	Conflicts map[string]uint64 // type_conflict rejections by the type of the rejected update
	Expired   uint64            // series removed by Sweep
}

// Stats returns the current counts.
func (s *Store) Stats() Stats {
	st := Stats{Series: map[string]int{}, Rejected: map[string]uint64{}, Conflicts: map[string]uint64{}}
	for t := Counter; t <= Summary; t++ {
		st.Series[t.String()] = int(s.stats.created[t].Load() - s.stats.expired[t].Load())
		st.Conflicts[t.String()] = s.stats.conflicts[t].Load()
		st.Expired += s.stats.expired[t].Load()
	}
	for r := range numReasons {
		st.Rejected[reasonNames[r]] = s.stats.rejected[r].Load()
	}
	return st
}

var (
	descSeries = prometheus.NewDesc("podkit_metrics_adapter_series",
		"Series held by the metrics adapter, by type.", []string{"type"}, nil)
	descRejected = prometheus.NewDesc("podkit_metrics_adapter_series_rejected_total",
		"Updates the series store rejected, by reason.", []string{"reason"}, nil)
	descConflicts = prometheus.NewDesc("podkit_metrics_adapter_series_conflicts_total",
		"Updates rejected because the metric name has another type (statsd_exporter_events_conflict_total without its unbounded metric_name label).", []string{"type"}, nil)
	descExpired = prometheus.NewDesc("podkit_metrics_adapter_series_expired_total",
		"Series removed after their TTL.", nil, nil)
)

// collector exposes the store's counters; it reads atomics only.
type collector struct{ s *Store }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSeries
	ch <- descRejected
	ch <- descConflicts
	ch <- descExpired
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	for t := Counter; t <= Summary; t++ {
		n := t.String()
		ch <- prometheus.MustNewConstMetric(descSeries, prometheus.GaugeValue, float64(st.Series[n]), n)
		ch <- prometheus.MustNewConstMetric(descConflicts, prometheus.CounterValue, float64(st.Conflicts[n]), n)
	}
	for _, r := range reasonNames {
		ch <- prometheus.MustNewConstMetric(descRejected, prometheus.CounterValue, float64(st.Rejected[r]), r)
	}
	ch <- prometheus.MustNewConstMetric(descExpired, prometheus.CounterValue, float64(st.Expired))
}
