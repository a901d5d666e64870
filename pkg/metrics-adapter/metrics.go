package metricsadapter

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podkit/podkit/pkg/metrics-adapter/graphite"
	"github.com/podkit/podkit/pkg/metrics-adapter/listen"
	"github.com/podkit/podkit/pkg/metrics-adapter/statsd"
)

// dropReason is why a parsed sample was not stored.
type dropReason uint8

const (
	dropMapping      dropReason = iota + 1 // action: drop
	dropEmptyName                          // the name template expanded to ""
	dropUnsupported                        // an event type statsd.go does not know (defensive: the parser rejects the rest)
	dropMaxSeries                          // the store is full (--max-series)
	dropConflict                           // the name exists with another type
	dropNegative                           // a negative counter increment
	dropInvalidName                        // not a Prometheus name after mapping
	dropInvalidLabel                       // a label name or value Prometheus refuses
	dropExpired                            // graphite: the sample's timestamp is older than the expiry
	dropSetOverflow                        // a set member beyond maxSetMembers in a window (counted, not stored)
	numDropReasons
)

var dropNames = [numDropReasons]string{"", "mapping_drop", "empty_metric_name", "unsupported_type", "max_series",
	"type_conflict", "illegal_negative_counter", "invalid_name", "invalid_label", "expired", "set_overflow"}

const numTypes = int(statsd.TypeSet) + 1

// input is where a line came from.
type input uint8

const (
	inStatsd input = iota
	inGraphite
	numInputs
)

var inputNames = [numInputs]string{"statsd", "graphite"}

// counts is one reader's tally since its last flush. Samples are counted by
// statsd type; graphite samples are gauges.
type counts struct {
	lines   [numInputs]uint64
	samples [numInputs][numTypes]uint64
	errors  [numInputs][32]uint64 // by statsd.Reason / graphite.Reason
	dropped [numDropReasons]uint64
}

// stats are the shared totals, added to once per packet.
type stats struct {
	lines    [numInputs]atomic.Uint64
	samples  [numInputs][numTypes]atomic.Uint64
	errors   [numInputs][32]atomic.Uint64
	dropped  [numDropReasons]atomic.Uint64
	mappings atomic.Int64
}

func newStats() *stats { return &stats{} }

// add moves c into the totals and zeroes it; only non-zero counts cost an
// atomic add.
func (s *stats) add(c *counts) {
	for in := range numInputs {
		flush(&s.lines[in], &c.lines[in])
		for i := range c.samples[in] {
			flush(&s.samples[in][i], &c.samples[in][i])
		}
		for i := range c.errors[in] {
			flush(&s.errors[in][i], &c.errors[in][i])
		}
	}
	for i := range c.dropped {
		flush(&s.dropped[i], &c.dropped[i])
	}
}

func flush(total *atomic.Uint64, n *uint64) {
	if *n != 0 {
		total.Add(*n)
		*n = 0
	}
}

var (
	descLines = prometheus.NewDesc("podkit_metrics_adapter_lines_total",
		"Lines received, by input.", []string{"input"}, nil)
	descSamples = prometheus.NewDesc("podkit_metrics_adapter_samples_total",
		"Samples stored, by input and type.", []string{"input", "type"}, nil)
	descErrors = prometheus.NewDesc("podkit_metrics_adapter_parse_errors_total",
		"Malformed lines or parts of lines, skipped, by input and reason.", []string{"input", "reason"}, nil)
	descDropped = prometheus.NewDesc("podkit_metrics_adapter_samples_dropped_total",
		"Parsed samples not stored, by reason: mapping_drop, empty_metric_name, unsupported_type, max_series, type_conflict, illegal_negative_counter, invalid_name, invalid_label, expired (graphite timestamps), set_overflow.",
		[]string{"reason"}, nil)
	descMappings = prometheus.NewDesc("podkit_metrics_adapter_mappings",
		"Mappings in the loaded mapping file.", nil, nil)
	descPackets = prometheus.NewDesc("podkit_metrics_adapter_packets_total",
		"Datagrams (udp, unixgram) or line batches (tcp) read, by input and transport.", []string{"input", "transport"}, nil)
	descBytes = prometheus.NewDesc("podkit_metrics_adapter_received_bytes_total",
		"Bytes read, by input and transport.", []string{"input", "transport"}, nil)
	descTruncated = prometheus.NewDesc("podkit_metrics_adapter_packets_truncated_total",
		"Datagrams longer than the maximum packet size, dropped, by input and transport.", []string{"input", "transport"}, nil)
	descTooLong = prometheus.NewDesc("podkit_metrics_adapter_tcp_lines_too_long_total",
		"TCP lines longer than the maximum line length, skipped.", []string{"input"}, nil)
	descConns = prometheus.NewDesc("podkit_metrics_adapter_tcp_connections_total",
		"TCP connections accepted.", []string{"input"}, nil)
	descConnsLimited = prometheus.NewDesc("podkit_metrics_adapter_tcp_connections_refused_total",
		"TCP connections closed at once because the maximum were open.", []string{"input"}, nil)
	descConnsOpen = prometheus.NewDesc("podkit_metrics_adapter_tcp_connections",
		"TCP connections open.", []string{"input"}, nil)
	descKernelDrops = prometheus.NewDesc("podkit_metrics_adapter_udp_kernel_drops_total",
		"Datagrams the kernel dropped on the UDP sockets (receive buffer full), from /proc/net/udp.", nil, nil)
	descKernelQueued = prometheus.NewDesc("podkit_metrics_adapter_udp_receive_queue_bytes",
		"Bytes waiting in the UDP sockets' receive buffers.", nil, nil)
)

type collector struct{ a *Adapter }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLines, descSamples, descErrors, descDropped, descMappings, descPackets,
		descBytes, descTruncated, descTooLong, descConns, descConnsLimited, descConnsOpen, descKernelDrops, descKernelQueued} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.a.stats
	counter := func(d *prometheus.Desc, v uint64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), lv...)
	}
	counter(descLines, s.lines[inStatsd].Load(), "statsd")
	last := statsd.TypeDistribution
	if c.a.cfg.StatsdSets {
		last = statsd.TypeSet
	}
	for t := statsd.TypeCounter; t <= last; t++ {
		counter(descSamples, s.samples[inStatsd][t].Load(), "statsd", t.String())
	}
	for _, r := range statsd.Reasons() {
		counter(descErrors, s.errors[inStatsd][r].Load(), "statsd", r.String())
	}
	if c.a.cfg.GraphiteAddr != "" {
		counter(descLines, s.lines[inGraphite].Load(), "graphite")
		counter(descSamples, s.samples[inGraphite][statsd.TypeGauge].Load(), "graphite", "gauge")
		for _, r := range graphite.Reasons() {
			counter(descErrors, s.errors[inGraphite][r].Load(), "graphite", r.String())
		}
	}
	for r := dropMapping; r < numDropReasons; r++ {
		counter(descDropped, s.dropped[r].Load(), dropNames[r])
	}
	ch <- prometheus.MustNewConstMetric(descMappings, prometheus.GaugeValue, float64(s.mappings.Load()))

	var udpDrops, udpQueued uint64
	for _, l := range c.a.listeners() {
		in := "statsd"
		if l == c.a.graphL {
			in = "graphite"
		}
		st := l.Stats()
		unixgram := false
		for _, so := range l.Sockets() {
			unixgram = unixgram || so.Network == "unixgram"
		}
		for _, t := range []struct {
			name string
			on   bool
			c    *listen.Counters
		}{{"udp", l.UDPAddr() != nil, &st.UDP}, {"tcp", l.TCPAddr() != nil, &st.TCP}, {"unixgram", unixgram, &st.Unixgram}} {
			if !t.on {
				continue
			}
			counter(descPackets, t.c.Packets, in, t.name)
			counter(descBytes, t.c.Bytes, in, t.name)
			if t.name != "tcp" {
				counter(descTruncated, t.c.Truncated, in, t.name)
			}
		}
		if l.TCPAddr() != nil {
			counter(descTooLong, st.TCP.LinesTooLong, in)
			counter(descConns, st.TCP.Conns, in)
			counter(descConnsLimited, st.TCP.ConnsLimited, in)
			ch <- prometheus.MustNewConstMetric(descConnsOpen, prometheus.GaugeValue, float64(st.TCP.ConnsOpen), in)
		}
		if l.UDPAddr() != nil {
			if ks, err := l.KernelStats(); err == nil {
				udpDrops += ks.Drops
				udpQueued += ks.Queued
			}
		}
	}
	counter(descKernelDrops, udpDrops)
	ch <- prometheus.MustNewConstMetric(descKernelQueued, prometheus.GaugeValue, float64(udpQueued))
}
