package mapping

import (
	"regexp"
	"slices"
	"strings"
	"time"
)

// Label is one label of a mapped metric.
type Label struct {
	Name, Value string
}

// Result is what Match decided for one statsd name.
type Result struct {
	// Mapping is the mapping that matched (with defaults applied), nil when
	// none did. Read-only.
	Mapping *Mapping
	// Index is Mapping's position in the file, -1 when none matched.
	Index int
	// Action is ActionDrop when the mapping drops the sample.
	Action Action
	// Name is the Prometheus name: the expanded name template, escaped with
	// EscapeName, or the escaped statsd name when nothing matched. "" when
	// the expansion was empty: statsd_exporter then discards the sample
	// (its empty_metric_name error); see Drop.
	Name string
	// Labels are the mapping's labels with templates expanded, sorted by
	// name; they do not include the statsd line's tags. Read-only: they may
	// be shared between calls.
	Labels []Label
	// ObserverType is the effective type for observer samples.
	ObserverType ObserverType
	// Buckets and Quantiles are the effective histogram buckets and summary
	// objectives. Read-only.
	Buckets   []float64
	Quantiles []Objective
	// TTL is the series expiry; 0: never.
	TTL time.Duration
}

// Drop reports whether the sample is discarded: action drop, or an empty
// expanded name.
func (r *Result) Drop() bool { return r.Action == ActionDrop || r.Name == "" }

// compiled is a mapping ready to match.
type compiled struct {
	m         *Mapping
	index     int
	re        *regexp.Regexp // regex mappings
	name      globTemplate   // glob mappings
	constName string         // escaped name when name is constant (glob)
	labelKeys []string       // sorted
	labels    []globTemplate // glob: per labelKeys
	constLbls []Label        // all label values constant (glob)
	observer  ObserverType
	buckets   []float64
	quantiles []Objective
}

// Mapper matches statsd names against a compiled configuration. It is
// immutable and safe for concurrent use; reload by building a new one.
type Mapper struct {
	defaults Defaults
	mappings []compiled
	regexes  []*compiled
	roots    [3]*node
	hasGlob  bool
	ordered  bool
	back     bool
	unmapped Result
}

func newMapper(d Defaults, ms []Mapping) (*Mapper, error) {
	mp := &Mapper{defaults: d, mappings: make([]compiled, len(ms)), ordered: !d.GlobDisableOrdering}
	for t := range mp.roots {
		mp.roots[t] = newNode(0)
	}
	var globs []string
	for i := range ms {
		m := &ms[i]
		c := &mp.mappings[i]
		c.m, c.index = m, i
		c.observer = ObserverSummary
		if m.ObserverType == ObserverHistogram {
			c.observer = ObserverHistogram
		}
		c.buckets, c.quantiles = d.HistogramOptions.Buckets, d.SummaryOptions.Quantiles
		if m.HistogramOptions != nil && len(m.HistogramOptions.Buckets) > 0 {
			c.buckets = m.HistogramOptions.Buckets
		}
		if m.SummaryOptions != nil && len(m.SummaryOptions.Quantiles) > 0 {
			c.quantiles = m.SummaryOptions.Quantiles
		}
		for k := range m.Labels {
			c.labelKeys = append(c.labelKeys, k)
		}
		slices.Sort(c.labelKeys)
		if m.MatchType == MatchRegex {
			c.re = regexp.MustCompile(m.Match) // validated by Compile
			mp.regexes = append(mp.regexes, c)
			continue
		}
		mp.hasGlob = true
		globs = append(globs, m.Match)
		fields := strings.Split(m.Match, ".")
		ncap := 0
		for _, f := range fields {
			if f == "*" {
				ncap++
			}
		}
		if m.MatchMetricType == "" {
			for _, r := range mp.roots {
				insert(r, fields, c, i)
			}
		} else {
			insert(mp.roots[m.MatchMetricType.index()], fields, c, i)
		}
		c.name = newGlobTemplate(m.Name, ncap)
		if c.name.constant() {
			c.constName = EscapeName(c.name.format)
		}
		allConst := true
		for _, k := range c.labelKeys {
			t := newGlobTemplate(m.Labels[k], ncap)
			allConst = allConst && t.constant()
			c.labels = append(c.labels, t)
		}
		if allConst && len(c.labelKeys) > 0 {
			for j, k := range c.labelKeys {
				c.constLbls = append(c.constLbls, Label{k, c.labels[j].format})
			}
		}
	}
	mp.back = mp.ordered || needBacktrack(globs)
	mp.unmapped = Result{
		Index:        -1,
		Action:       ActionMap,
		ObserverType: ObserverSummary,
		Buckets:      d.HistogramOptions.Buckets,
		Quantiles:    d.SummaryOptions.Quantiles,
		TTL:          time.Duration(d.TTL),
	}
	if d.ObserverType == ObserverHistogram {
		mp.unmapped.ObserverType = ObserverHistogram
	}
	return mp, nil
}

// Defaults returns the defaults section with statsd_exporter's defaults
// filled in.
func (mp *Mapper) Defaults() Defaults { return mp.defaults }

// Len is the number of mappings.
func (mp *Mapper) Len() int { return len(mp.mappings) }

// maxStackFields is how many components a name may have before matching it
// allocates its capture buffers.
const maxStackFields = 16

// Match maps a statsd name of type t. Globs are tried first, whatever their
// place in the file (statsd_exporter's FSM precedes its regex loop): with
// ordering, the earliest glob that matches wins; with glob_disable_ordering,
// the most literal one (literal components beat "*", left to right). Then
// regexes, first match in file order, unanchored unless the pattern says
// otherwise, skipping a regex whose match_metric_type differs. Unmatched
// names get EscapeName(name) and the defaults, and so does every name when t
// is not Counter, Gauge or Observer.
func (mp *Mapper) Match(name string, t MetricType) Result {
	ti := t.index()
	if ti < 0 {
		return mp.unmatched(name)
	}
	if mp.hasGlob {
		var capBuf, bestBuf [2 * maxStackFields]int
		g := globSearch{name: name, fields: strings.Count(name, ".") + 1, ordered: mp.ordered, back: mp.back}
		if g.fields <= maxStackFields {
			g.caps, g.best = capBuf[:2*g.fields], bestBuf[:2*g.fields]
		} else {
			g.caps, g.best = make([]int, 2*g.fields), make([]int, 2*g.fields)
		}
		g.walk(mp.roots[ti], 0, 0, 0)
		if g.found != nil {
			return mp.globResult(g.found.result, name, g.best)
		}
	}
	for _, c := range mp.regexes {
		loc := c.re.FindStringSubmatchIndex(name)
		if loc == nil {
			continue
		}
		if c.m.MatchMetricType != "" && c.m.MatchMetricType != t {
			continue
		}
		r := c.result()
		r.Name = EscapeName(string(c.re.ExpandString(nil, c.m.Name, name, loc)))
		if len(c.labelKeys) > 0 {
			r.Labels = make([]Label, len(c.labelKeys))
			for i, k := range c.labelKeys {
				r.Labels[i] = Label{k, string(c.re.ExpandString(nil, c.m.Labels[k], name, loc))}
			}
		}
		return r
	}
	return mp.unmatched(name)
}

func (mp *Mapper) unmatched(name string) Result {
	r := mp.unmapped
	r.Name = EscapeName(name)
	return r
}

func (c *compiled) result() Result {
	return Result{
		Mapping:      c.m,
		Index:        c.index,
		Action:       c.m.Action,
		ObserverType: c.observer,
		Buckets:      c.buckets,
		Quantiles:    c.quantiles,
		TTL:          time.Duration(c.m.TTL),
	}
}

func (mp *Mapper) globResult(c *compiled, name string, caps []int) Result {
	r := c.result()
	if c.name.constant() {
		r.Name = c.constName
	} else {
		r.Name = EscapeName(c.name.expand(name, caps))
	}
	switch {
	case c.constLbls != nil:
		r.Labels = c.constLbls
	case len(c.labelKeys) > 0:
		r.Labels = make([]Label, len(c.labelKeys))
		for i, k := range c.labelKeys {
			r.Labels[i] = Label{k, c.labels[i].expand(name, caps)}
		}
	}
	return r
}
