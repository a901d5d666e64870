// Package metricsadapter is podkit metrics-adapter: the adapter pattern
// (Burns & Oppenheimer 2016, section 4.3). Applications report metrics in
// their own ways (statsd, graphite, a JSON or Prometheus endpoint of their
// own); the adapter gives the outside world one Prometheus /metrics for all
// of them, without changing the application. It replaces
// prometheus/statsd_exporter, graphite_exporter and json_exporter with one
// daemon that reads their configuration files as they are.
//
// The parts are libraries of their own: statsd (line parser), mapping
// (statsd_exporter's mapping file), series (the store and its exposition),
// listen (UDP/TCP/unixgram sockets). This package wires them: Adapter reads
// every input into one store and serves it, reloading the mapping on
// request.
package metricsadapter
