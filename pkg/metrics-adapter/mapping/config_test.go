package mapping

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// configCases are accepted or rejected as statsd_exporter v0.31.0 does;
// TestSideBySideValidation checks that against the real binary. err is a
// substring of Parse's error, "" for accepted.
var configCases = []struct {
	name, config, err string
}{
	{"empty", ``, ""},
	{"only comment", "# nothing\n", ""},
	{"full", `
defaults:
  observer_type: histogram
  match_type: glob
  glob_disable_ordering: false
  ttl: 10m
  summary_options:
    quantiles: [{quantile: 0.5, error: 0.1}]
    max_age: 5m
    age_buckets: 3
    buf_cap: 100
  histogram_options:
    buckets: [1, 2, 3]
    native_histogram_bucket_factor: 1.5
    native_histogram_max_buckets: 100
mappings:
- match: a.*.c
  name: "a_$1"
  labels: {job: "x_${1}"}
  honor_labels: true
  observer_type: summary
  summary_options: {quantiles: [{quantile: 0.9, error: 0.01}]}
  match_type: glob
  help: some help
  action: map
  match_metric_type: observer
  ttl: 1h
  scale: 0.001
- match: 'b\.(.*)'
  match_type: regex
  name: b
  histogram_options: {buckets: [0.1]}
`, ""},
	{"unknown top-level key", "foo: 1\n", "field foo not found"},
	{"unknown mapping key", "mappings:\n- match: a.b\n  name: x\n  bogus: 1\n", "field bogus not found"},
	{"old timer_type key", "mappings:\n- match: a.b\n  name: x\n  timer_type: histogram\n", "timer_type"},
	{"old buckets key", "mappings:\n- match: a.b\n  name: x\n  buckets: [1]\n", "buckets"},
	{"old quantiles key", "mappings:\n- match: a.b\n  name: x\n  quantiles: [{quantile: 0.5, error: 0.1}]\n", "quantiles"},
	{"old defaults buckets", "defaults:\n  buckets: [1]\n", "buckets"},
	{"unknown defaults key", "defaults:\n  nope: 1\n", "nope"},
	{"no name", "mappings:\n- match: a.b\n", "name: required"},
	{"bad name", "mappings:\n- match: a.b\n  name: a.b\n", "name:"},
	{"name leading digit", "mappings:\n- match: a.b\n  name: 1a\n", "name:"},
	{"name named ref", "mappings:\n- match: a.b\n  name: ${x}\n", "name:"},
	{"name ref first", "mappings:\n- match: a.*\n  name: ${1}_a\n", ""},
	{"name ref open brace", "mappings:\n- match: a.*\n  name: a_${1\n", ""},
	{"bad glob star in component", "mappings:\n- match: a.b*\n  name: x\n", "match: invalid glob"},
	{"bad glob leading digit", "mappings:\n- match: 1.b\n  name: x\n", "match: invalid glob"},
	{"glob later digit", "mappings:\n- match: a.1-b\n  name: x\n", ""},
	{"bad glob empty component", "mappings:\n- match: a..b\n  name: x\n", "match: invalid glob"},
	{"bad glob empty", "mappings:\n- name: x\n", "match: invalid glob"},
	{"glob star only", "mappings:\n- match: '*'\n  name: x\n", ""},
	{"bad regex", "mappings:\n- match: '('\n  match_type: regex\n  name: x\n", "match: invalid regex"},
	{"empty regex", "mappings:\n- match_type: regex\n  name: x\n", ""},
	{"bad match_type", "mappings:\n- match: a\n  match_type: foo\n  name: x\n", "invalid match type"},
	{"empty match_type", "mappings:\n- match: a\n  match_type: ''\n  name: x\n", ""},
	{"bad action", "mappings:\n- match: a\n  action: keep\n  name: x\n", "invalid action"},
	{"bad observer_type", "mappings:\n- match: a\n  observer_type: timer\n  name: x\n", "invalid observer"},
	{"bad defaults observer_type", "defaults:\n  observer_type: gauge\n", "invalid observer"},
	{"bad match_metric_type", "mappings:\n- match: a\n  match_metric_type: timer\n  name: x\n", "invalid metric type"},
	{"empty match_metric_type", "mappings:\n- match: a\n  match_metric_type: ''\n  name: x\n", "invalid metric type"},
	{"label one char", "mappings:\n- match: a\n  name: x\n  labels: {a: b}\n", "labels: invalid label name"},
	{"label bad char", "mappings:\n- match: a\n  name: x\n  labels: {a-b: b}\n", "labels: invalid label name"},
	{"histogram with summary options", "mappings:\n- match: a\n  name: x\n  observer_type: histogram\n  summary_options: {}\n", "summary_options"},
	{"summary with histogram options", "mappings:\n- match: a\n  name: x\n  observer_type: summary\n  histogram_options: {}\n", "histogram_options"},
	{"default summary with histogram options", "defaults:\n  observer_type: summary\nmappings:\n- match: a\n  name: x\n  histogram_options: {}\n", "histogram_options"},
	{"no observer type, histogram options", "mappings:\n- match: a\n  name: x\n  histogram_options: {buckets: [1]}\n", ""},
	{"ttl integer nanoseconds", "defaults:\n  ttl: 1000\n", ""},
	{"bad ttl", "defaults:\n  ttl: soon\n", "duration"},
	{"duplicate key", "mappings:\n- match: a\n  name: x\n  name: y\n", "already"},
	{"mappings not a list", "mappings: {}\n", "cannot unmarshal"},
	{"label value number", "mappings:\n- match: a\n  name: x\n  labels: {ab: 1}\n", ""},
	{"scale string", "mappings:\n- match: a\n  name: x\n  scale: big\n", "cannot unmarshal"},
	{"null observer_type", "mappings:\n- match: a.b\n  name: x\n  observer_type:\n", ""},
	{"null label value", "mappings:\n- match: a.b\n  name: x\n  labels:\n    ab:\n", ""},
	{"null mapping", "mappings:\n-\n", "name: required"},
	{"multiple documents", "mappings: []\n---\nfoo: 1\n", ""},
	{"internal field", "registerer: 1\n", "field registerer not found"},
	{"yaml 1.1 bool", "defaults:\n  glob_disable_ordering: yes\n", ""},
	{"float in integer field", "defaults:\n  summary_options: {age_buckets: 1.5}\n", ""},
	{"float ttl", "mappings:\n- match: a.b\n  name: x\n  ttl: 1.5\n", ""},
	{"null mapping after a bad one", "mappings:\n- match: a.b\n  name: x\n  labels: {a: b}\n-\n", "mappings[0] (line 2): labels"},
	{"null mapping later", "mappings:\n- match: a.b\n  name: x\n- \n- match: c\n  name: y\n", "mappings[1] (line 4): name: required"},
}

func TestParse(t *testing.T) {
	for _, tc := range configCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.config))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.err != "" && err == nil:
				t.Fatalf("Parse accepted, want error with %q", tc.err)
			case tc.err != "" && !strings.Contains(err.Error(), tc.err):
				t.Fatalf("Parse: %v, want error with %q", err, tc.err)
			}
		})
	}
}

func TestParseErrorNamesMapping(t *testing.T) {
	_, err := Parse([]byte("mappings:\n- match: a.b\n  name: ok\n\n- match: c.d\n  name: x\n  labels: {a: b}\n"))
	if err == nil || !strings.Contains(err.Error(), "mappings[1] (line 5): labels:") {
		t.Fatalf("error %v, want it to name mappings[1] (line 5) and labels", err)
	}
}

func TestDefaults(t *testing.T) {
	m, err := Parse([]byte(`
defaults:
  ttl: 1m
  summary_options: {max_age: 2m}
mappings:
- match: a.*
  name: a
- match: h.*
  name: h
  observer_type: histogram
- match: s.*
  name: s
  ttl: 5s
  summary_options: {quantiles: [{quantile: 0.1, error: 0.1}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	d := m.Defaults()
	if d.MatchType != MatchGlob || !slices.Equal(d.HistogramOptions.Buckets, DefaultBuckets) ||
		!slices.Equal(d.SummaryOptions.Quantiles, DefaultQuantiles) || d.HistogramOptions.NativeHistogramBucketFactor != 1.1 ||
		d.HistogramOptions.NativeHistogramMaxBuckets != 256 {
		t.Errorf("defaults %+v", d)
	}
	r := m.Match("a.x", Observer)
	if r.ObserverType != ObserverSummary || r.TTL != time.Minute || r.Mapping.Action != ActionMap || r.Mapping.MatchType != MatchGlob ||
		!slices.Equal(r.Quantiles, DefaultQuantiles) || r.Mapping.SummaryOptions != nil {
		t.Errorf("a.x: %+v", r)
	}
	r = m.Match("h.x", Observer)
	if r.ObserverType != ObserverHistogram || !slices.Equal(r.Buckets, DefaultBuckets) || !slices.Equal(r.Mapping.HistogramOptions.Buckets, DefaultBuckets) {
		t.Errorf("h.x: %+v", r)
	}
	r = m.Match("s.x", Observer)
	if r.ObserverType != ObserverSummary || r.TTL != 5*time.Second || r.Quantiles[0].Quantile != 0.1 || r.Mapping.SummaryOptions.MaxAge != 0 { // options are defaulted only for an explicit summary type
		t.Errorf("s.x: %+v", r)
	}
	r = m.Match("none", Counter)
	if r.Index != -1 || r.TTL != time.Minute || r.Name != "none" || r.Drop() {
		t.Errorf("none: %+v", r)
	}
}

func TestTooLarge(t *testing.T) {
	big := make([]byte, MaxConfigSize+1)
	for i := range big {
		big[i] = '\n'
	}
	if _, err := Parse(big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Parse: %v", err)
	}
	f := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(f, big, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(f); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadFile: %v", err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("ReadFile of a missing file: no error")
	}
}

func TestCompileRejectsBadValues(t *testing.T) {
	for _, m := range []Mapping{
		{Match: "a", Name: "x", MatchType: "fuzzy"},
		{Match: "a", Name: "x", Action: "keep"},
		{Match: "a", Name: "x", MatchMetricType: "timer"},
		{Match: "a", Name: "x", ObserverType: "gauge"},
	} {
		if _, err := Compile(Config{Mappings: []Mapping{m}}, nil); err == nil {
			t.Errorf("Compile(%+v): no error", m)
		}
	}
	if _, err := Compile(Config{Defaults: Defaults{MatchType: "x"}}, nil); err == nil {
		t.Error("Compile with defaults.match_type x: no error")
	}
	if _, err := Compile(Config{Defaults: Defaults{ObserverType: "x"}}, nil); err == nil {
		t.Error("Compile with defaults.observer_type x: no error")
	}
	if _, err := Compile(Config{Mappings: []Mapping{{Match: "a.*", Name: "x_${1}"}}}, nil); err != nil {
		t.Errorf("Compile of a valid Config: %v", err)
	}
}
