package metricsadapter

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podkit/podkit/pkg/metrics-adapter/listen"
	"github.com/podkit/podkit/pkg/metrics-adapter/statsd"
)

// dropReason is why a parsed sample was not stored.
type dropReason uint8

const (
	dropMapping      dropReason = iota + 1 // action: drop
	dropEmptyName                          // the name template expanded to ""
	dropUnsupported                        // a statsd type with no Prometheus meaning (sets)
	dropMaxSeries                          // the store is full (--max-series)
	dropConflict                           // the name exists with another type
	dropNegative                           // a negative counter increment
	dropInvalidName                        // not a Prometheus name after mapping
	dropInvalidLabel                       // a label name or value Prometheus refuses
	numDropReasons
)

var dropNames = [numDropReasons]string{"", "mapping_drop", "empty_metric_name", "unsupported_type", "max_series",
	"type_conflict", "illegal_negative_counter", "invalid_name", "invalid_label"}

const numTypes = int(statsd.TypeSet) + 1

// counts is one reader's tally since its last flush.
type counts struct {
	lines   uint64
	samples [numTypes]uint64
	errors  [32]uint64 // by statsd.Reason
	dropped [numDropReasons]uint64
}

// stats are the shared totals, added to once per packet.
type stats struct {
	lines    atomic.Uint64
	samples  [numTypes]atomic.Uint64
	errors   [32]atomic.Uint64
	dropped  [numDropReasons]atomic.Uint64
	mappings atomic.Int64
}

func newStats() *stats { return &stats{} }

// add moves c into the totals and zeroes it; only non-zero counts cost an
// atomic add.
func (s *stats) add(c *counts) {
	if c.lines != 0 {
		s.lines.Add(c.lines)
		c.lines = 0
	}
	for i, n := range c.samples {
		if n != 0 {
			s.samples[i].Add(n)
			c.samples[i] = 0
		}
	}
	for i, n := range c.errors {
		if n != 0 {
			s.errors[i].Add(n)
			c.errors[i] = 0
		}
	}
	for i, n := range c.dropped {
		if n != 0 {
			s.dropped[i].Add(n)
			c.dropped[i] = 0
		}
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
		"Parsed samples not stored, by reason: mapping_drop, empty_metric_name, unsupported_type, max_series, type_conflict, illegal_negative_counter, invalid_name, invalid_label.",
		[]string{"reason"}, nil)
	descMappings = prometheus.NewDesc("podkit_metrics_adapter_mappings",
		"Mappings in the loaded mapping file.", nil, nil)
	descPackets = prometheus.NewDesc("podkit_metrics_adapter_packets_total",
		"Datagrams (udp, unixgram) or line batches (tcp) read, by transport.", []string{"transport"}, nil)
	descBytes = prometheus.NewDesc("podkit_metrics_adapter_received_bytes_total",
		"Bytes read, by transport.", []string{"transport"}, nil)
	descTruncated = prometheus.NewDesc("podkit_metrics_adapter_packets_truncated_total",
		"Datagrams longer than the maximum packet size, dropped, by transport.", []string{"transport"}, nil)
	descTooLong = prometheus.NewDesc("podkit_metrics_adapter_tcp_lines_too_long_total",
		"TCP lines longer than the maximum line length, skipped.", nil, nil)
	descConns = prometheus.NewDesc("podkit_metrics_adapter_tcp_connections_total",
		"TCP connections accepted.", nil, nil)
	descConnsLimited = prometheus.NewDesc("podkit_metrics_adapter_tcp_connections_refused_total",
		"TCP connections closed at once because the maximum were open.", nil, nil)
	descConnsOpen = prometheus.NewDesc("podkit_metrics_adapter_tcp_connections",
		"TCP connections open.", nil, nil)
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
	counter(descLines, s.lines.Load(), "statsd")
	for t := statsd.TypeCounter; t <= statsd.TypeDistribution; t++ {
		counter(descSamples, s.samples[t].Load(), "statsd", t.String())
	}
	for _, r := range statsd.Reasons() {
		counter(descErrors, s.errors[r].Load(), "statsd", r.String())
	}
	for r := dropMapping; r < numDropReasons; r++ {
		counter(descDropped, s.dropped[r].Load(), dropNames[r])
	}
	ch <- prometheus.MustNewConstMetric(descMappings, prometheus.GaugeValue, float64(s.mappings.Load()))

	c.a.mu.Lock()
	l := c.a.statsdL
	c.a.mu.Unlock()
	if l == nil {
		return
	}
	st := l.Stats()
	for _, t := range []struct {
		name string
		c    *listen.Counters
	}{{"udp", &st.UDP}, {"tcp", &st.TCP}, {"unixgram", &st.Unixgram}} {
		counter(descPackets, t.c.Packets, t.name)
		counter(descBytes, t.c.Bytes, t.name)
		if t.name != "tcp" {
			counter(descTruncated, t.c.Truncated, t.name)
		}
	}
	counter(descTooLong, st.TCP.LinesTooLong)
	counter(descConns, st.TCP.Conns)
	counter(descConnsLimited, st.TCP.ConnsLimited)
	ch <- prometheus.MustNewConstMetric(descConnsOpen, prometheus.GaugeValue, float64(st.TCP.ConnsOpen))
	if l.UDPAddr() != nil {
		if ks, err := l.KernelStats(); err == nil {
			counter(descKernelDrops, ks.Drops)
			ch <- prometheus.MustNewConstMetric(descKernelQueued, prometheus.GaugeValue, float64(ks.Queued))
		}
	}
}
