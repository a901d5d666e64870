package scrape

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	dto "github.com/prometheus/client_model/go"
)

// jsonMetric is a compiled entry of `metrics:`; an object entry has one
// value per `values:` key, named NAME_KEY as json_exporter does.
type jsonMetric struct {
	object     bool
	path       *Template
	typ        dto.MetricType
	help       string
	labelNames []string // sorted
	labels     []*Template
	values     []jsonValue
}

type jsonValue struct {
	name string
	tmpl *Template // nil for type value: the path itself
}

func compileMetric(m *Metric) (*jsonMetric, error) {
	if m.EpochTimestamp != "" || m.EpochTimestampCamel != "" {
		return nil, errors.New("epochtimestamp: not supported: a timestamp from the document disables Prometheus staleness handling (and json_exporter v0.7.0 ignores the epochTimestamp spelling); remove it")
	}
	if m.Name == "" {
		return nil, errors.New("name: required")
	}
	if !metricRE.MatchString(m.Name) {
		return nil, fmt.Errorf("name: %q is not a metric name (want %s)", m.Name, metricRE)
	}
	jm := &jsonMetric{help: m.Help}
	if jm.help == "" {
		jm.help = m.Name // json_exporter's default
	}
	switch m.ValueType {
	case "", "untyped":
		jm.typ = dto.MetricType_UNTYPED
	case "gauge":
		jm.typ = dto.MetricType_GAUGE
	case "counter":
		jm.typ = dto.MetricType_COUNTER
	default:
		return nil, fmt.Errorf("valuetype: invalid %q (want gauge, counter or untyped)", m.ValueType)
	}
	if m.Path == "" {
		return nil, errors.New("path: required")
	}
	var err error
	if jm.path, err = CompileTemplate(m.Path); err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	for k := range m.Labels {
		jm.labelNames = append(jm.labelNames, k)
	}
	slices.Sort(jm.labelNames)
	for _, k := range jm.labelNames {
		if !labelNameRE.MatchString(k) || len(k) > 1 && k[:2] == "__" {
			return nil, fmt.Errorf("labels: %q is not a label name (want %s, not starting with __)", k, labelNameRE)
		}
		t, err := CompileTemplate(m.Labels[k])
		if err != nil {
			return nil, fmt.Errorf("labels: %s: %w", k, err)
		}
		jm.labels = append(jm.labels, t)
	}
	switch m.Type {
	case "", "value":
		if len(m.Values) > 0 {
			return nil, errors.New("values: only with type: object")
		}
		jm.values = []jsonValue{{name: m.Name}}
	case "object":
		jm.object = true
		if jm.path.IsLiteral() {
			return nil, fmt.Errorf("path: %q selects nothing (want e.g. {.items[*]})", m.Path)
		}
		if len(m.Values) == 0 {
			return nil, errors.New("values: required with type: object")
		}
		keys := make([]string, 0, len(m.Values))
		for k := range m.Values {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			name := m.Name + "_" + k
			if !metricRE.MatchString(name) {
				return nil, fmt.Errorf("values: %q makes %q, not a metric name", k, name)
			}
			t, err := CompileTemplate(m.Values[k])
			if err != nil {
				return nil, fmt.Errorf("values: %s: %w", k, err)
			}
			jm.values = append(jm.values, jsonValue{name: name, tmpl: t})
		}
	default:
		return nil, fmt.Errorf("type: invalid %q (want value or object)", m.Type)
	}
	return jm, nil
}

// jsonStats counts values skipped because a path failed or gave no number;
// the scrape still succeeds, as json_exporter's probe does.
type jsonStats struct{ skipped int }

// decodeJSON decodes a document into encoding/json's generic values.
func decodeJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("data after the JSON document")
	}
	return doc, nil
}

// jsonToFamilies applies json_exporter metrics to a document, as its probe
// does: a metric whose value path fails or is not a number is skipped (and
// counted in skipped); a label whose path fails is "". The result is
// unsorted; families keep the order of first appearance.
func jsonToFamilies(doc any, metrics []*jsonMetric, st *jsonStats) []*dto.MetricFamily {
	fams := map[string]*dto.MetricFamily{}
	var order []*dto.MetricFamily
	add := func(jm *jsonMetric, name string, v float64, labels []*dto.LabelPair) {
		f := fams[name]
		if f == nil {
			f = &dto.MetricFamily{Name: &name, Help: &jm.help, Type: jm.typ.Enum()}
			fams[name] = f
			order = append(order, f)
		}
		m := &dto.Metric{Label: labels}
		setValue(m, f.GetType(), v)
		f.Metric = append(f.Metric, m)
	}
	for _, jm := range metrics {
		if !jm.object {
			s, err := jm.path.Execute(doc)
			v, ok := sanitizeValue(s)
			if err != nil || !ok {
				st.skipped++
				continue
			}
			add(jm, jm.values[0].name, v, jm.labelPairs(doc))
			continue
		}
		objs, err := jm.path.Select(doc)
		if err != nil {
			st.skipped += len(jm.values)
			continue
		}
		for _, jv := range jm.values {
			for _, o := range objs {
				s, err := jv.tmpl.Execute(o)
				v, ok := sanitizeValue(s)
				if err != nil || !ok {
					st.skipped++
					continue
				}
				add(jm, jv.name, v, jm.labelPairs(o))
			}
		}
	}
	return order
}

func (jm *jsonMetric) labelPairs(doc any) []*dto.LabelPair {
	lp := make([]*dto.LabelPair, 0, len(jm.labels))
	for i, t := range jm.labels {
		v, err := t.Execute(doc)
		if err != nil {
			v = "" // json_exporter logs and uses ""
		}
		lp = append(lp, &dto.LabelPair{Name: &jm.labelNames[i], Value: &v})
	}
	return lp
}

// sanitizeValue is json_exporter's SanitizeValue: a float, or a bool
// (strconv.ParseBool: true/1/t/T/TRUE/True are 1).
func sanitizeValue(s string) (float64, bool) {
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return v, true
	}
	if b, err := strconv.ParseBool(s); err == nil {
		if b {
			return 1, true
		}
		return 0, true
	}
	return math.NaN(), false
}

func setValue(m *dto.Metric, t dto.MetricType, v float64) {
	switch t {
	case dto.MetricType_GAUGE:
		m.Gauge = &dto.Gauge{Value: &v}
	case dto.MetricType_COUNTER:
		m.Counter = &dto.Counter{Value: &v}
	default:
		m.Untyped = &dto.Untyped{Value: &v}
	}
}
