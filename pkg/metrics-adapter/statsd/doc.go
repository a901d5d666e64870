// Package statsd parses statsd lines: the input side of podkit
// metrics-adapter, the adapter pattern (Burns & Oppenheimer 2016, section
// 4.3), which gives heterogeneous applications one uniform monitoring
// interface. It replaces the line parser of prometheus/statsd_exporter
// v0.31.0 (pkg/line) and accepts, rejects and reports the same lines, with
// the differences listed in README.md.
//
// A Parser turns one packet (a UDP or unixgram datagram, or a batch of TCP
// lines) into Events handed to a Handler. It does not allocate per line: an
// Event's Name and Labels alias the packet or the Parser's scratch buffer
// and are valid only until the Handler method returns.
//
// The parser reports values in the unit sent: a timer ("ms") is in
// milliseconds. statsd_exporter divides timers by 1000 in its line parser;
// here the consumer does it, through Event.ObservedValue.
package statsd
