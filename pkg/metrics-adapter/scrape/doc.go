// Package scrape turns an application's existing HTTP endpoint into
// Prometheus metrics: the "scrape adapters" of podkit metrics-adapter, the
// adapter pattern (Burns & Oppenheimer 2016, section 4.3). A JSON endpoint is
// read with prometheus-community/json_exporter's metrics syntax (its module
// `metrics:` list, accepted as written; this also covers JMX through
// Jolokia's JSON API); a Prometheus or OpenMetrics text endpoint is passed
// through Prometheus `metric_relabel_configs` (rename, relabel, drop) to
// normalise a foreign naming scheme.
//
// A Config (ParseConfig, ReadConfig, plus `--scrape NAME=URL` flags through
// AddFlags) lists the targets; New compiles it without I/O; Run scrapes each
// target on its interval and keeps the last good result of each; the Scraper
// is a prometheus.Gatherer serving those results merged and sorted, to be
// merged with the process's own registry (prometheus.Gatherers) and encoded
// with expfmt. Reload swaps in a new Config atomically. README.md lists the
// config keys and the differences from json_exporter and Prometheus.
package scrape
