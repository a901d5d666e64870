// Package graphite parses Graphite plaintext lines ("path value timestamp"):
// an input of podkit metrics-adapter, the adapter pattern (Burns &
// Oppenheimer 2016, section 4.3), which gives heterogeneous applications one
// uniform monitoring interface. It replaces the line handling of
// prometheus/graphite_exporter v0.16.0 (collector/collector.go) and accepts,
// rejects and exposes lines the same way, with the differences listed in
// README.md.
//
// A Parser turns one packet (a UDP datagram, or a batch of TCP lines) into
// Samples handed to a Handler. It does not allocate per line: a Sample's
// Path and Labels alias the packet or the Parser's scratch buffer and are
// valid only until the Handler method returns.
//
// Expose then decides, with a statsd_exporter-style mapping, what
// graphite_exporter would show on /metrics for a Sample: the gauge's name,
// its labels and value, or that it is dropped. Expired says whether a
// sample is past --graphite.sample-expiry.
package graphite
