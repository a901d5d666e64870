package series

import (
	"context"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Store holds the series. Its update methods are safe for concurrent use;
// each locks only the shard that holds the series. They keep neither the
// name nor the labels they are given (both are copied when a series is
// created), so callers may pass strings that alias a reused buffer.
type Store struct {
	cfg     Config
	now     func() time.Time
	seed    maphash.Seed
	mask    uint64
	shards  []shard
	samples int

	famMu    sync.Mutex
	families map[string]*family

	nseries atomic.Int64
	stats   counters

	scrapeMu sync.Mutex // one exposition at a time; guards the scratch below
	scratch  scrapeScratch
}

type shard struct {
	mu sync.Mutex
	m  map[string]*series
	_  [40]byte // keep shards on separate cache lines
}

// family is everything with one metric name. Its fields do not change after
// creation; n is guarded by Store.famMu.
type family struct {
	name       string
	typ        Type
	help       string
	buckets    []float64 // histogram upper bounds, sorted, without +Inf
	quantiles  []float64 // summary quantiles, sorted
	window     int64     // summary age window length in ns
	ageBuckets int
	n          int // live series
}

// series is one time series, guarded by its shard's lock.
type series struct {
	key  string
	fam  *family
	last int64   // unix ns of the last update
	ttl  int64   // ns; 0: never expires
	val  float64 // counter or gauge value; observers: sum
	obs  *observer
}

type observer struct {
	count   uint64
	buckets []uint64   // histogram: per bucket, not cumulative
	sum     *reservoir // summary
}

// New validates cfg and returns an empty store. It starts no goroutine:
// the owner calls Sweep (or runs Run) to expire idle series.
func New(cfg Config) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	n := cfg.Shards
	if n == 0 {
		n = defaultShards
	}
	p := 1
	for p < n {
		p <<= 1
	}
	s := &Store{
		cfg:      cfg,
		now:      cfg.Now,
		seed:     maphash.MakeSeed(),
		mask:     uint64(p - 1),
		shards:   make([]shard, p),
		samples:  cfg.SummarySamples,
		families: make(map[string]*family),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.samples == 0 {
		s.samples = defaultSamples
	}
	for i := range s.shards {
		s.shards[i].m = make(map[string]*series)
	}
	if cfg.Registry != nil {
		if err := cfg.Registry.Register(collector{s}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Add adds v (>= 0) to the counter name{labels}.
func (s *Store) Add(name string, labels []Label, v float64, o *Options) error {
	if v < 0 {
		s.stats.reject(reasonNegative)
		return ErrNegative
	}
	return s.update(name, labels, Counter, v, 1, false, o)
}

// Set sets the gauge name{labels} to v.
func (s *Store) Set(name string, labels []Label, v float64, o *Options) error {
	return s.update(name, labels, Gauge, v, 1, true, o)
}

// AddGauge adds delta to the gauge name{labels} (statsd "+N"/"-N"); a new
// gauge starts at 0.
func (s *Store) AddGauge(name string, labels []Label, delta float64, o *Options) error {
	return s.update(name, labels, Gauge, delta, 1, false, o)
}

// Observe records v n times (statsd's sample rate; n < 1 is 1) into the
// histogram or summary name{labels}; t is Histogram or Summary.
func (s *Store) Observe(name string, labels []Label, t Type, v float64, n int, o *Options) error {
	if t != Histogram && t != Summary {
		t = Summary
	}
	if n < 1 {
		n = 1
	}
	return s.update(name, labels, t, v, uint64(n), false, o)
}

// Len returns the number of series.
func (s *Store) Len() int { return int(s.nseries.Load()) }

func (s *Store) update(name string, labels []Label, t Type, v float64, n uint64, set bool, o *Options) error {
	var lbuf [16]Label
	var ls []Label
	if len(labels) <= len(lbuf) {
		ls = lbuf[:len(labels)]
	} else {
		ls = make([]Label, len(labels))
	}
	copy(ls, labels)
	sortLabels(ls)
	var kbuf [256]byte
	key := appendKey(kbuf[:0], name, ls)
	sh := &s.shards[maphash.Bytes(s.seed, key)&s.mask]
	now := s.now().UnixNano()
	var ttl int64
	if o != nil {
		ttl = int64(o.TTL)
	}

	sh.mu.Lock()
	se := sh.m[string(key)]
	if se == nil {
		var err error
		if se, err = s.create(sh, string(key), name, ls, t, o, now); err != nil {
			sh.mu.Unlock()
			return err
		}
	} else if se.fam.typ != t {
		sh.mu.Unlock()
		s.stats.conflict(t)
		return ErrConflict
	}
	se.last = now
	se.ttl = ttl
	switch t {
	case Counter:
		se.val += v
	case Gauge:
		if set {
			se.val = v
		} else {
			se.val += v
		}
	case Histogram:
		f := se.fam
		se.val += v * float64(n)
		se.obs.count += n
		// First bound >= v (le is inclusive); NaN in none but +Inf, as
		// client_golang's sort.SearchFloat64s.
		if i, _ := slices.BinarySearch(f.buckets, v); i < len(f.buckets) && !math.IsNaN(v) {
			se.obs.buckets[i] += n
		}
	case Summary:
		se.val += v * float64(n)
		se.obs.count += n
		se.obs.sum.observe(v, n, now, se.fam, s.samples)
	}
	sh.mu.Unlock()
	return nil
}

// create makes a new series under sh.mu; the key string is copied here,
// once per series.
func (s *Store) create(sh *shard, key, name string, ls []Label, t Type, o *Options, now int64) (*series, error) {
	if !validMetricName(name) {
		s.stats.reject(reasonInvalidName)
		return nil, ErrInvalidName
	}
	if !validLabels(ls) {
		s.stats.reject(reasonInvalidLabel)
		return nil, ErrInvalidLabel
	}
	for i := range ls {
		if t == Histogram && ls[i].Name == "le" || t == Summary && ls[i].Name == "quantile" {
			s.stats.reject(reasonInvalidLabel)
			return nil, ErrInvalidLabel
		}
	}
	if max := s.cfg.MaxSeries; max > 0 {
		if s.nseries.Add(1) > int64(max) {
			s.nseries.Add(-1)
			s.stats.reject(reasonMaxSeries)
			return nil, ErrMaxSeries
		}
	} else {
		s.nseries.Add(1)
	}
	f, err := s.family(name, t, o)
	if err != nil {
		s.nseries.Add(-1)
		return nil, err
	}
	se := &series{key: string([]byte(key)), fam: f}
	switch t {
	case Histogram:
		se.obs = &observer{buckets: make([]uint64, len(f.buckets))}
	case Summary:
		se.obs = &observer{sum: newReservoir(f, now)}
	}
	sh.m[se.key] = se
	s.stats.created[t].Add(1)
	return se, nil
}

// family returns name's family, creating it; it applies statsd_exporter's
// conflict rules (registry.go: MetricConflicts, checkHistogramNameCollision
// and the _sum/_count/_bucket checks of GetHistogram and GetSummary).
func (s *Store) family(name string, t Type, o *Options) (*family, error) {
	s.famMu.Lock()
	defer s.famMu.Unlock()
	if f := s.families[name]; f != nil {
		if f.typ != t {
			s.stats.conflict(t)
			return nil, ErrConflict
		}
		f.n++
		return f, nil
	}
	other := func(n string) bool { // registered, with a type other than t
		f := s.families[n]
		return f != nil && f.typ != t
	}
	conflict := false
	switch t {
	case Counter, Gauge:
		for _, suf := range [...]string{"_bucket", "_count", "_sum"} {
			if len(name) > len(suf) && name[len(name)-len(suf):] == suf {
				f := s.families[name[:len(name)-len(suf)]]
				// statsd_exporter checks against the counter type for
				// counters and gauges alike.
				conflict = conflict || f != nil && f.typ != Counter
			}
		}
	case Histogram:
		conflict = other(name+"_sum") || other(name+"_count") || other(name+"_bucket")
	case Summary:
		conflict = other(name+"_sum") || other(name+"_count")
	}
	if conflict {
		s.stats.conflict(t)
		return nil, ErrConflict
	}
	f := &family{name: strings.Clone(name), typ: t, help: DefaultHelp, n: 1} // name may alias the caller's buffer
	if o != nil && o.Help != "" {
		f.help = o.Help
	}
	switch t {
	case Histogram:
		var b []float64
		if o != nil {
			b = o.Buckets
		}
		if len(b) == 0 {
			b = prometheus.DefBuckets
		}
		b = slices.Clone(b)
		slices.Sort(b)
		b = slices.Compact(b)
		for len(b) > 0 && math.IsInf(b[len(b)-1], 1) {
			b = b[:len(b)-1]
		}
		f.buckets = b
	case Summary:
		qs := DefaultQuantiles
		maxAge, ab := defaultMaxAge, defaultAgeBuckets
		if o != nil {
			if len(o.Quantiles) > 0 {
				qs = o.Quantiles
			}
			if o.MaxAge > 0 {
				maxAge = o.MaxAge
			}
			if o.AgeBuckets > 0 {
				ab = o.AgeBuckets
			}
		}
		for _, q := range qs {
			f.quantiles = append(f.quantiles, q.Quantile)
		}
		slices.Sort(f.quantiles)
		f.quantiles = slices.Compact(f.quantiles)
		f.ageBuckets = min(ab, 1024)
		f.window = max(int64(maxAge)/int64(f.ageBuckets), 1)
	}
	s.families[f.name] = f
	return f, nil
}

// Sweep removes series idle for longer than their TTL, as statsd_exporter's
// RemoveStaleMetrics (which runs every second), and returns how many it
// removed. A name whose series are all gone is forgotten, so it may come
// back with another type.
func (s *Store) Sweep() int {
	now := s.now().UnixNano()
	removed := 0
	var dead []*family
	for i := range s.shards {
		sh := &s.shards[i]
		dead = dead[:0]
		sh.mu.Lock()
		for k, se := range sh.m {
			if se.ttl > 0 && now-se.last > se.ttl {
				delete(sh.m, k)
				dead = append(dead, se.fam)
			}
		}
		sh.mu.Unlock()
		if len(dead) == 0 {
			continue
		}
		removed += len(dead)
		s.nseries.Add(-int64(len(dead)))
		s.famMu.Lock()
		for _, f := range dead {
			s.stats.expired[f.typ].Add(1)
			if f.n--; f.n == 0 && s.families[f.name] == f {
				delete(s.families, f.name)
			}
		}
		s.famMu.Unlock()
	}
	return removed
}

// Run calls Sweep every interval (0: 1s, statsd_exporter's period) until
// ctx is done, then returns nil. It is optional: the owner may call Sweep
// itself.
func (s *Store) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.Sweep()
		}
	}
}
