// Package series is the series store of podkit metrics-adapter, the adapter
// pattern (Burns & Oppenheimer 2016, section 4.3), which replaces
// prometheus/statsd_exporter: it holds the counters, gauges, histograms and
// summaries that mapped statsd lines update, and writes them in the
// Prometheus text format or OpenMetrics. It does the job of statsd_exporter
// v0.31.0's pkg/registry plus client_golang's metric vectors and registry,
// with the same conflict rules, but keeps one compact record per series (no
// client_golang objects, no per-series goroutines or maps) and writes
// /metrics straight from the store.
//
// Summaries keep a bounded reservoir of samples per age window instead of
// client_golang's unbounded-in-practice quantile streams; README.md
// describes the semantics, limits and measured figures.
package series
