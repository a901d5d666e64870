package mapping

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

const matchConfig = `
mappings:
- match: test.dispatcher.*.*.*
  name: dispatcher_events_total
  labels: {processor: "$1", action: "$2", outcome: "$3", job: test_dispatcher}
- match: a.b.c
  name: abc
- match: a.b
  name: ab_never
- match: obs.*
  match_metric_type: observer
  observer_type: histogram
  histogram_options: {buckets: [1, 2]}
  name: obs_seconds
  ttl: 30s
- match: const.*
  name: const_name
  labels: {job: fixed, env: prod}
- match: drop.*
  action: drop
  name: dropped
- match: empty.*
  name: "$1"
- match: '^rx\.(?P<first>[a-z]+)\.(\d+)$'
  match_type: regex
  name: "rx_${2}"
  labels: {first: "${first}", second: "$2", glued: "$2_x"}
- match: '^rx\.'
  match_type: regex
  name: rx_fallback
- match: deep.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*.*
  name: "deep_$18"
  labels: {first: "$1"}
`

var matchCases = []struct {
	name   string
	typ    MetricType
	want   string // Prometheus name; "" dropped
	labels string // "k=v,k=v" sorted
	index  int
}{
	{"test.dispatcher.P.send.ok", Counter, "dispatcher_events_total", "action=send,job=test_dispatcher,outcome=ok,processor=P", 0},
	{"test.dispatcher.P.send", Counter, "test_dispatcher_P_send", "", -1},
	{"test.dispatcher..send.", Gauge, "dispatcher_events_total", "action=send,job=test_dispatcher,outcome=,processor=", 0},
	{"a.b.c", Counter, "abc", "", 1},
	{"a.b", Counter, "a_b", "", -1}, // a.b's final state existed before it: statsd_exporter never matches it
	{"obs.x", Observer, "obs_seconds", "", 3},
	{"obs.x", Counter, "obs_x", "", -1},
	{"const.x", Counter, "const_name", "env=prod,job=fixed", 4},
	{"drop.x", Counter, "", "", 5},
	{"empty.", Counter, "", "", 6},
	{"empty.1x", Counter, "_1x", "", 6},
	{"rx.abc.12", Counter, "rx_12", "first=abc,glued=,second=12", 7},
	{"rx.abc.x", Counter, "rx_fallback", "", 8},
	{"deep.1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18", Counter, "deep_18", "first=1", 9},
	{"deep.1.2.3", Counter, "deep_1_2_3", "", -1},
	{"", Counter, "", "", -1},
	{"1.5", Counter, "_1_5", "", -1},
	{"rx.abc.12", "set", "rx_abc_12", "", -1}, // not a type statsd_exporter maps
}

func labelString(ls []Label) string {
	var s []string
	for _, l := range ls {
		s = append(s, l.Name+"="+l.Value)
	}
	return strings.Join(s, ",")
}

func TestMatch(t *testing.T) {
	m, err := Parse([]byte(matchConfig))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range matchCases {
		t.Run(string(tc.typ)+"/"+tc.name, func(t *testing.T) {
			r := m.Match(tc.name, tc.typ)
			name := r.Name
			if r.Drop() {
				name = ""
			}
			if name != tc.want || labelString(r.Labels) != tc.labels || r.Index != tc.index {
				t.Errorf("Match = %q {%s} mapping %d, want %q {%s} mapping %d", name, labelString(r.Labels), r.Index, tc.want, tc.labels, tc.index)
			}
		})
	}
	r := m.Match("obs.x", Observer)
	if r.ObserverType != ObserverHistogram || !slices.Equal(r.Buckets, []float64{1, 2}) || r.TTL.String() != "30s" {
		t.Errorf("obs.x: %+v", r)
	}
}

func TestMatchNoAlloc(t *testing.T) {
	m, err := Parse([]byte(matchConfig))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"const.x", "a.b.c", "drop.x", "obs.y", "a_b"} {
		if n := testing.AllocsPerRun(100, func() { m.Match(name, Observer) }); n != 0 {
			t.Errorf("Match(%q): %v allocations, want 0", name, n)
		}
	}
}

func TestEscapeName(t *testing.T) {
	for in, want := range map[string]string{
		"":            "",
		"ok_Name9":    "ok_Name9",
		"a.b-c":       "a_b_c",
		"a--b":        "a_b",
		"a-_-b":       "a___b",
		"0abc":        "_0abc",
		"ü":           "_",
		"a\xffb":      "a_b",
		"-":           "_",
		"a:b":         "a_b",
		"x.*.y":       "x___y",
		"日本.metric":   "___metric",
		"--lead--dup": "_lead_dup",
	} {
		if got := EscapeName(in); got != want {
			t.Errorf("EscapeName(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { EscapeName("already_valid") }); n != 0 {
		t.Errorf("EscapeName of a valid name: %v allocations", n)
	}
}

func BenchmarkMatch(b *testing.B) {
	m, err := Parse([]byte(matchConfig))
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"const.x", "test.dispatcher.P.send.ok", "rx.abc.12", "unmatched.name"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Match(name, Counter)
			}
		})
	}
}

func ExampleParse() {
	m, err := Parse([]byte(`
mappings:
- match: test.dispatcher.*.*.*
  name: dispatcher_events_total
  labels:
    processor: "$1"
    action: "$2"
    outcome: "$3"
`))
	if err != nil {
		panic(err)
	}
	r := m.Match("test.dispatcher.FooProcessor.send.success", Counter)
	fmt.Println(r.Name, r.Labels)
	r = m.Match("other.metric-name", Counter)
	fmt.Println(r.Name, r.Index)
	// Output:
	// dispatcher_events_total [{action send} {outcome success} {processor FooProcessor}]
	// other_metric_name -1
}
