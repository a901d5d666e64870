package metricsadapter

import (
	"time"

	"github.com/podkit/podkit/pkg/metrics-adapter/graphite"
	"github.com/podkit/podkit/pkg/metrics-adapter/listen"
	"github.com/podkit/podkit/pkg/metrics-adapter/series"
	"github.com/podkit/podkit/pkg/metrics-adapter/statsd"
)

// graphiteSink stores one reader's Graphite samples as gauges, as
// graphite_exporter exposes them. A sample is shown until its own
// timestamp is older than the expiry, so its series' TTL is what is left
// of that when it arrives.
type graphiteSink struct {
	a      *Adapter
	p      *graphite.Parser
	labels []series.Label
	n      counts
}

// graphiteBatch is the read buffer of each graphite reader: a TCP batch
// holds at least one line of graphite_exporter's longest (64 KiB).
const graphiteBatch = 128 << 10

func (a *Adapter) newGraphiteHandler() listen.Handler {
	p, _ := graphite.New(graphite.Config{Limits: graphite.Limits{MaxPacketSize: graphiteBatch}}) // valid: tested
	s := &graphiteSink{a: a, p: p}
	return func(packet []byte) {
		s.n.lines[inGraphite] += uint64(s.p.Parse(packet, s))
		a.stats.add(&s.n)
	}
}

// Sample implements graphite.Handler.
func (s *graphiteSink) Sample(smp *graphite.Sample) {
	expiry := s.a.cfg.GraphiteSampleExpiry
	now := time.Now()
	if graphite.Expired(smp.Timestamp, now, expiry) {
		s.n.dropped[dropExpired]++
		return
	}
	m := graphite.Expose(smp, s.a.gmapper.Load(), graphite.ExposeOptions{StrictMatch: s.a.cfg.GraphiteStrictMatch})
	if m.Drop {
		s.n.dropped[dropMapping]++
		return
	}
	ls := s.labels[:0]
	for _, l := range m.Labels {
		ls = append(ls, series.Label{Name: l.Name, Value: l.Value})
	}
	s.labels = ls
	o := series.Options{TTL: smp.Timestamp.Add(expiry).Sub(now), Help: "Graphite metric " + m.Name}
	if err := s.a.store.Set(m.Name, ls, m.Value, &o); err != nil {
		s.n.dropped[storeReason(err)]++
		return
	}
	s.n.samples[inGraphite][statsd.TypeGauge]++
}

// Error implements graphite.Handler.
func (s *graphiteSink) Error(r graphite.Reason, _ []byte) {
	s.n.errors[inGraphite][r]++
}
