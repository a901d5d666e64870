// Package mapping turns statsd metric names into Prometheus names and labels
// with prometheus/statsd_exporter's mapping YAML, accepted as it is: part of
// podkit metrics-adapter, the adapter pattern (Burns & Oppenheimer 2016,
// section 4.3), which replaces statsd_exporter. The semantics follow
// statsd_exporter v0.31.0's pkg/mapper, quirks included (glob precedence over
// regex, the glob trie's first-writer-wins final states, the template
// formatter's handling of "$1_x"); README.md lists each key and each known
// difference.
//
// Parse validates and precompiles a configuration once; (*Mapper).Match is
// then safe for concurrent use and does not allocate for a glob match whose
// name and labels need no template expansion.
package mapping
