package metricsadapter

import (
	"errors"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/podkit/podkit/pkg/metrics-adapter/listen"
	"github.com/podkit/podkit/pkg/metrics-adapter/mapping"
	"github.com/podkit/podkit/pkg/metrics-adapter/series"
	"github.com/podkit/podkit/pkg/metrics-adapter/statsd"
)

// statsdSink turns one reader's statsd events into store updates. Each
// listener goroutine and TCP connection has its own, so nothing here is
// locked: mapping results are cached per reader (matching a regex per line
// would cost more than the rest; a shared cache's lock would cost a third
// of a line's time), and counts go to the shared stats once per packet.
// The caches of all readers share one bound, Config.MappingCache entries.
type statsdSink struct {
	a      *Adapter
	p      *statsd.Parser
	mapper *mapping.Mapper // the cache's
	cache  map[string]*mapped
	used   *atomic.Int64 // len(cache), given back to the budget when the sink is collected
	key    []byte
	labels []series.Label
	n      counts
}

// mapped is what the mapping decided for one statsd name and type class.
type mapped struct {
	name   string
	drop   dropReason // 0: keep
	labels []mapping.Label
	honor  bool
	scale  float64
	scaled bool
	obs    series.Type
	opts   series.Options
}

func (a *Adapter) newStatsdHandler() listen.Handler {
	p, _ := statsd.New(a.parserConfig()) // checked in New
	s := &statsdSink{a: a, p: p, cache: make(map[string]*mapped), used: new(atomic.Int64)}
	// A TCP connection's sink dies with it: its entries leave the budget.
	runtime.AddCleanup(s, func(used *atomic.Int64) { a.cached.Add(-used.Load()) }, s.used)
	return func(packet []byte) {
		s.n.lines[inStatsd] += uint64(s.p.Parse(packet, s))
		a.stats.add(&s.n)
	}
}

var classes = [...]mapping.MetricType{
	statsd.TypeCounter:      mapping.Counter,
	statsd.TypeGauge:        mapping.Gauge,
	statsd.TypeTimer:        mapping.Observer,
	statsd.TypeHistogram:    mapping.Observer,
	statsd.TypeDistribution: mapping.Observer,
	statsd.TypeSet:          mapping.Gauge, // a set is exposed as a gauge
}

// Event implements statsd.Handler.
func (s *statsdSink) Event(e *statsd.Event) {
	if int(e.Type) >= len(classes) || classes[e.Type] == "" {
		s.n.dropped[dropUnsupported]++
		return
	}
	m := s.lookup(e)
	if m.drop != 0 {
		s.n.dropped[m.drop]++
		return
	}
	s.n.samples[inStatsd][e.Type]++
	// Tags first, then the mapping's labels, which win unless honor_labels
	// (statsd_exporter's order). The strings alias the packet: the store
	// copies what it keeps.
	ls := s.labels[:0]
	for _, l := range e.Labels {
		ls = append(ls, series.Label{Name: unsafeString(l.Name), Value: unsafeString(l.Value)})
	}
	ntags := len(ls)
next:
	for _, ml := range m.labels {
		for i := range ntags {
			if ls[i].Name == ml.Name {
				if !m.honor {
					ls[i].Value = ml.Value
				}
				continue next
			}
		}
		ls = append(ls, series.Label{Name: ml.Name, Value: ml.Value})
	}
	s.labels = ls
	v := e.ObservedValue()
	if m.scaled {
		v *= m.scale
	}
	if e.Type == statsd.TypeSet {
		switch ok, overflow := s.a.sets.add(m.name, ls, e.Member, &m.opts); {
		case !ok:
			s.n.samples[inStatsd][e.Type]--
			s.n.dropped[dropMaxSeries]++
		case overflow:
			s.n.samples[inStatsd][e.Type]--
			s.n.dropped[dropSetOverflow]++
		}
		return
	}
	st := s.a.store
	var err error
	switch e.Type {
	case statsd.TypeCounter:
		err = st.Add(m.name, ls, v, &m.opts)
	case statsd.TypeGauge:
		if e.Relative {
			err = st.AddGauge(m.name, ls, v, &m.opts)
		} else {
			err = st.Set(m.name, ls, v, &m.opts)
		}
	default:
		err = st.Observe(m.name, ls, m.obs, v, e.Repeat, &m.opts)
	}
	if err != nil {
		s.n.samples[inStatsd][e.Type]--
		s.n.dropped[storeReason(err)]++
	}
}

// Error implements statsd.Handler.
func (s *statsdSink) Error(r statsd.Reason, _ []byte) {
	s.n.errors[inStatsd][r]++
}

// lookup returns the cached mapping of e's name and type class, computing
// it on a miss. The cache is emptied when the mapping is reloaded. When the
// budget is spent a miss replaces one of this reader's entries; a reader
// with none resolves every line (slower, never wrong).
func (s *statsdSink) lookup(e *statsd.Event) *mapped {
	mp := s.a.mapper.Load()
	if mp != s.mapper {
		s.forget()
		s.mapper = mp
	}
	class := classes[e.Type]
	s.key = append(append(s.key[:0], class[0]), e.Name...)
	if m := s.cache[string(s.key)]; m != nil {
		return m
	}
	m := resolve(mp, string(e.Name), class)
	if s.a.cached.Load() >= int64(s.a.cfg.MappingCache) {
		if len(s.cache) == 0 {
			return m
		}
		for k := range s.cache {
			delete(s.cache, k)
			break
		}
	} else {
		s.a.cached.Add(1)
		s.used.Add(1)
	}
	s.cache[string(s.key)] = m
	return m
}

func (s *statsdSink) forget() {
	clear(s.cache)
	s.a.cached.Add(-s.used.Swap(0))
}

func resolve(mp *mapping.Mapper, name string, class mapping.MetricType) *mapped {
	r := mp.Match(name, class)
	m := &mapped{name: r.Name, labels: r.Labels, obs: series.Summary}
	switch {
	case r.Action == mapping.ActionDrop:
		m.drop = dropMapping
		return m
	case r.Name == "":
		m.drop = dropEmptyName
		return m
	}
	if r.ObserverType == mapping.ObserverHistogram {
		m.obs = series.Histogram
	}
	m.opts = series.Options{TTL: r.TTL, Buckets: r.Buckets}
	// statsd_exporter's registry takes max_age and age_buckets from the
	// defaults unless the mapping has summary_options (unmatched names and
	// mappings without an observer_type have none).
	so := mp.Defaults().SummaryOptions
	if mm := r.Mapping; mm != nil && mm.SummaryOptions != nil {
		so = *mm.SummaryOptions
	}
	m.opts.MaxAge, m.opts.AgeBuckets = time.Duration(so.MaxAge), int(so.AgeBuckets)
	for _, q := range r.Quantiles {
		m.opts.Quantiles = append(m.opts.Quantiles, series.Quantile{Quantile: q.Quantile, Error: q.Error})
	}
	if mm := r.Mapping; mm != nil {
		m.opts.Help = mm.Help
		m.honor = mm.HonorLabels
		if mm.Scale != nil {
			m.scale, m.scaled = *mm.Scale, true
		}
	}
	return m
}

func storeReason(err error) dropReason {
	switch {
	case errors.Is(err, series.ErrMaxSeries):
		return dropMaxSeries
	case errors.Is(err, series.ErrConflict):
		return dropConflict
	case errors.Is(err, series.ErrNegative):
		return dropNegative
	case errors.Is(err, series.ErrInvalidName):
		return dropInvalidName
	default:
		return dropInvalidLabel
	}
}

// unsafeString views b as a string without copying; the store never keeps
// the strings it is given (series.Store).
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
