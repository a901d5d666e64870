package graphite

import (
	"slices"
	"strings"

	"github.com/podkit/podkit/pkg/metrics-adapter/mapping"
)

// Metric is what graphite_exporter exposes for one Sample: a gauge, shown
// without the sample's timestamp, until the sample expires (Expired).
type Metric struct {
	// Name is the Prometheus metric name; "" when Drop.
	Name string
	// Labels are the sample's tags plus the mapping's labels, sorted by
	// name; a mapping label replaces a tag of the same name (honor_labels
	// is ignored, as in graphite_exporter v0.16.0).
	Labels []mapping.Label
	// Value is the sample's value, times the mapping's scale if it has one.
	Value float64
	// Drop: the sample is not exposed (mapping action drop, an empty
	// mapped name, or no mapping matched with StrictMatch).
	Drop bool
	// Mapping is the mapping that matched, nil when none did. Read-only.
	Mapping *mapping.Mapping
}

// ExposeOptions are graphite_exporter's mapping flags.
type ExposeOptions struct {
	// StrictMatch drops samples no mapping matches
	// (--graphite.mapping-strict-match).
	StrictMatch bool
}

// Expose decides what graphite_exporter would expose for s with mapper mp
// (nil: no --graphite.mapping-config). The path, tags removed, is matched
// as a gauge (mapper.MetricTypeGauge in graphite_exporter); an unmatched
// path is escaped with AppendMetricName, a mapped name is the mapping's
// (escaped by mapping.EscapeName, see README.md for where that differs).
// It allocates the name and labels; s may be reused once it returns.
func Expose(s *Sample, mp *mapping.Mapper, opt ExposeOptions) Metric {
	var m Metric
	var r mapping.Result
	matched := false
	if mp != nil {
		r = mp.Match(string(s.Path), mapping.Gauge)
		matched = r.Mapping != nil
	}
	switch {
	case matched && r.Drop(), !matched && opt.StrictMatch:
		return Metric{Drop: true, Mapping: r.Mapping}
	case matched:
		m.Name, m.Mapping = r.Name, r.Mapping
	default:
		m.Name = MetricName(s.Path)
	}
	m.Value = s.Value
	if matched && r.Mapping.Scale != nil {
		m.Value *= *r.Mapping.Scale
	}
	m.Labels = make([]mapping.Label, 0, len(s.Labels)+len(r.Labels))
	for _, l := range s.Labels {
		if !hasLabel(r.Labels, l.Name) {
			m.Labels = append(m.Labels, mapping.Label{Name: string(l.Name), Value: string(l.Value)})
		}
	}
	m.Labels = append(m.Labels, r.Labels...)
	slices.SortFunc(m.Labels, func(a, b mapping.Label) int { return strings.Compare(a.Name, b.Name) })
	return m
}

func hasLabel(ls []mapping.Label, name []byte) bool {
	for _, l := range ls {
		if l.Name == string(name) {
			return true
		}
	}
	return false
}
