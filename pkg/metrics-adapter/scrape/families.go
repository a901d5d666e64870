package scrape

import (
	"errors"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// relabelFamilies applies rules to every series (its __name__ is the family
// name, also for histograms and summaries) and regroups the series by their
// new names; a series moved into a family of another type is dropped.
// conflicts counts the series dropped for their type: a family's own series
// win over series renamed into it.
func relabelFamilies(fams []*dto.MetricFamily, rules []*relabelRule) (out []*dto.MetricFamily, conflicts int) {
	if len(rules) == 0 {
		return fams, 0
	}
	byName := map[string]*dto.MetricFamily{}
	var renamed []moved
	add := func(f *dto.MetricFamily, name string, m *dto.Metric) {
		nf := byName[name]
		if nf == nil {
			nf = &dto.MetricFamily{Name: &name, Help: f.Help, Type: f.Type, Unit: f.Unit}
			byName[name] = nf
			out = append(out, nf)
		} else if nf.GetType() != f.GetType() {
			conflicts++
			return
		}
		nf.Metric = append(nf.Metric, m)
	}
	ls := labelSet{}
	for _, f := range fams {
		for _, m := range f.Metric {
			ls = ls[:0]
			ls = append(ls, labelPair{"__name__", f.GetName()})
			for _, lp := range m.Label {
				if lp.GetValue() != "" {
					ls = append(ls, labelPair{lp.GetName(), lp.GetValue()})
				}
			}
			slices.SortFunc(ls, func(a, b labelPair) int { return strings.Compare(a.name, b.name) })
			res, keep := relabel(ls, rules)
			if !keep {
				continue
			}
			name := res.get("__name__")
			m.Label = m.Label[:0]
			for _, l := range res {
				if l.name != "__name__" {
					m.Label = append(m.Label, &dto.LabelPair{Name: &l.name, Value: &l.value})
				}
			}
			if name == f.GetName() {
				add(f, name, m)
			} else {
				renamed = append(renamed, moved{f, name, m})
			}
		}
	}
	// Series that kept their name first: a family's own type wins over
	// series renamed into it.
	for _, r := range renamed {
		add(r.from, r.name, r.m)
	}
	return out, conflicts
}

type moved struct {
	from *dto.MetricFamily
	name string
	m    *dto.Metric
}

// dropReserved removes labels starting with "__", as Prometheus does after
// relabeling (client_golang refuses them).
func dropReserved(fams []*dto.MetricFamily) {
	for _, f := range fams {
		for _, m := range f.Metric {
			m.Label = slices.DeleteFunc(m.Label, func(l *dto.LabelPair) bool { return strings.HasPrefix(l.GetName(), "__") })
		}
	}
}

func countSeries(fams []*dto.MetricFamily) int {
	n := 0
	for _, f := range fams {
		n += len(f.Metric)
	}
	return n
}

// normalize checks and sorts families as client_golang's Gatherers does
// (names, label names and values, duplicate series, types, suffix
// collisions, one help per name) and drops what fails; invalid counts the
// dropped series.
func normalize(fams []*dto.MetricFamily) (out []*dto.MetricFamily, invalid int) {
	g := prometheus.Gatherers{prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return fams, nil })}
	out, err := g.Gather()
	var me prometheus.MultiError
	if errors.As(err, &me) {
		invalid = len(me)
	} else if err != nil {
		invalid = 1
	}
	return out, invalid
}
