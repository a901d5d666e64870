package mapping

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/podkit/podkit/internal/statsdtest"
)

// sideBySide are mapping files and statsd names for which statsd_exporter's
// /metrics must show what Match returns. Names avoid the characters its line
// parser reads as tags (# , [ ] = :) and single-component catch-alls, which
// would rename statsdtest's sentinel.
var sideBySide = []struct {
	name          string
	config        string
	names, gauges []string // sent as counters, as gauges
}{
	{
		name: "globs",
		config: `
mappings:
- match: test.dispatcher.*.*.*
  name: dispatcher_events_total
  labels: {processor: "$1", action: "$2", outcome: "$3", job: test_dispatcher}
- match: "*.signup.*.*"
  name: signup_events_total
  labels: {provider: "$2", outcome: "$3", job: "${1}_server"}
- match: app.*.latency
  name: "app_$1_latency"
- match: app.*.errors
  name: "app_${1}_errors"
  labels: {whole: "$0", over: "$9", both: "$1$1", pct: "50%_$1"}
- match: a.b.c
  name: abc
- match: a.b
  name: ab_never
- match: x.*.*
  name: "x_$2_$1"
- match: y.*.*
  name: "y_${2}_${1}"
- match: first.*
  name: first_wins
- match: first.one
  name: second_loses
- match: lit.one
  name: lit_first
- match: lit.*
  name: star_second
- match: rep.*
  name: rep_first
- match: rep.*
  name: rep_second
`,
		names: []string{
			"test.dispatcher.FooProcessor.send.success", "test.dispatcher.BarProcessor.recv.failure",
			"test.dispatcher.a.b", "test.dispatcher.a.b.c.d", "test.dispatcher..x.y",
			"foo_product.signup.facebook.failure", "bar.signup.google.success", "x.signup.y",
			"app.web.latency", "app.web.errors", "app.*.errors", "app.a-b.errors", "app.ünï.errors",
			"a.b.c", "a.b", "a.b.d", "x.p.q", "y.p.q", "y.1.2", "y..", "first.one", "first.two",
			"lit.one", "lit.two", "rep.z", "unmatched.name", "app.web.latency.extra",
		},
	},
	{
		name: "regex",
		config: `
mappings:
- match: '^regex\.(\w+)\.(\w+)$'
  match_type: regex
  name: "regex_${2}_total"
  labels: {first: "$1", both: "${1}-${2}", bad: "$1_x"}
- match: '(?P<svc>[a-z]+)\.rq\.(?P<code>\d+)'
  match_type: regex
  name: rq_total
  labels: {svc: "${svc}", code: "$code", whole: "$0", missing: "${nope}"}
- match: 'dup\.(.*)'
  match_type: regex
  name: dup_first
- match: 'dup\.(x.*)'
  match_type: regex
  name: dup_second
- match: 'glob\.wins'
  match_type: regex
  name: regex_loses
- match: glob.wins
  name: glob_won
- match: 'nm\.(.*)'
  match_type: regex
  name: "nm_$1"
- match: '^lead\.(.*)'
  match_type: regex
  name: "$1"
- match: '^suffix\.(.*)'
  match_type: regex
  name: "s_$1_total"
`,
		names: []string{
			"regex.alpha.beta", "regex.alpha.beta.gamma", "regex.a-b.c",
			"api.rq.200", "foo.api.rq.503.extra", "API.rq.200", "dup.xyz", "dup.abc",
			"glob.wins", "xglob.winsx", "nm.a.b-c", "nm.ü", "lead.9lives", "lead.ok",
			"suffix.abc", "other.thing",
		},
	},
	{
		name: "types-and-drop",
		config: `
defaults:
  ttl: 1h
mappings:
- match: typed.*
  match_metric_type: gauge
  name: typed_gauge
- match: typed.*
  name: typed_any
- match: only.*
  match_metric_type: counter
  name: only_counter
- match: drop.*.*
  action: drop
  name: dropped
- match: drop.keep.*
  name: kept
- match: 'rx\.(.*)'
  match_type: regex
  match_metric_type: gauge
  name: rx_gauge
- match: 'rx\.(.*)'
  match_type: regex
  name: rx_any
  labels: {val: "$1"}
`,
		names:  []string{"typed.c", "only.c", "drop.a.b", "drop.keep.me", "drop.one", "rx.c"},
		gauges: []string{"typed.g", "only.g", "rx.g", "drop.keep.g"},
	},
	{
		name: "unordered",
		config: `
defaults:
  glob_disable_ordering: true
mappings:
- match: o.*.c
  name: o_star_first
- match: o.b.c
  name: o_literal_second
- match: q.a.k
  name: q_ak
- match: q.*.z
  name: q_z
- match: t.*.z
  name: t_z
- match: t.a.k
  name: t_ak
- match: t.*.*
  name: t_any
- match: u.*.*
  name: u_any
- match: u.a.*
  name: u_a
`,
		names: []string{"o.b.c", "o.x.c", "q.a.k", "q.a.z", "q.b.z", "t.a.z", "t.a.k", "t.b.z", "t.b.q", "u.a.b", "u.b.b"},
	},
	{
		// No rule here makes statsd_exporter's heuristic ask for
		// backtracking, so "t.a.z" goes down the literal "a" and misses.
		name: "unordered-greedy",
		config: `
defaults:
  glob_disable_ordering: true
mappings:
- match: t.*.z
  name: t_z
- match: t.a.k
  name: t_ak
- match: t.*.*
  name: t_any
`,
		names: []string{"t.a.z", "t.a.k", "t.b.z", "t.b.q", "t.a.q"},
	},
	{
		name: "escaping",
		config: `
mappings:
- match: never.matches
  name: never
`,
		names: []string{
			"foo.bar-baz", "1abc", "a--b", "a---b", "a-.b", "a.-b", "ünïcode.x", "a/b", "a@b",
			"x*y", "trailing.", ".leading", "a..b", "CamelCase", "9.9", "a b", "tab\tin", "€uro", "_ok", "a;b",
		},
	},
}

// overlapping is a set of globs that overlap in every way, tried with every
// name of up to four components over a small alphabet.
const overlapping = `
- match: r.*.*.*
  name: r_sss
  labels: {c1: "$1", c2: "$2", c3: "$3"}
- match: r.a.*.*
  name: r_ass
  labels: {c1: "$1", c2: "$2"}
- match: r.*.b.*
  name: r_sbs
  labels: {c1: "$1", c2: "$2"}
- match: r.a.b.c
  name: r_abc
- match: r.*.*.c
  name: r_ssc
  labels: {c1: "$1", c2: "$2"}
- match: r.a.*
  name: r_as
  labels: {c1: "$1"}
- match: r.*.b
  name: r_sb
  labels: {c1: "$1"}
- match: r.a.b
  name: r_ab
- match: r.*
  name: r_s
  labels: {c1: "$1"}
- match: r.x.*.*
  match_metric_type: counter
  name: r_xss
  labels: {c1: "$1", c2: "$2"}
`

// reversed is overlapping with its mappings in reverse order: shorter globs
// first, so that they are not shadowed by the trie's first-writer rule.
func reversed() string {
	items := strings.Split(overlapping, "\n- ")
	slices.Reverse(items[1:])
	return "\n- " + strings.Join(items[1:], "\n- ")
}

func overlappingNames() []string {
	names := []string{}
	var gen func(prefix string, depth int)
	gen = func(prefix string, depth int) {
		if depth == 0 {
			return
		}
		for _, c := range []string{"a", "b", "c", "x", ""} {
			n := prefix + "." + c
			names = append(names, n)
			gen(n, depth-1)
		}
	}
	gen("r", 4)
	return names
}

func TestSideBySide(t *testing.T) {
	cases := append(sideBySide[:len(sideBySide):len(sideBySide)],
		struct {
			name          string
			config        string
			names, gauges []string
		}{"overlapping-ordered", "mappings:" + overlapping, overlappingNames(), nil},
		struct {
			name          string
			config        string
			names, gauges []string
		}{"overlapping-unordered", "defaults: {glob_disable_ordering: true}\nmappings:" + overlapping, overlappingNames(), nil},
		struct {
			name          string
			config        string
			names, gauges []string
		}{"reversed-ordered", "mappings:" + reversed(), overlappingNames(), nil},
		struct {
			name          string
			config        string
			names, gauges []string
		}{"reversed-unordered", "defaults: {glob_disable_ordering: true}\nmappings:" + reversed(), overlappingNames(), nil},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "mapping.yaml")
			if err := os.WriteFile(file, []byte(tc.config), 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]float64{}
			labelSets := map[string]string{} // metric name -> label names: the exporter keeps the first
			var lines []string
			v := 1.0
			add := func(name string, typ MetricType, suffix string) {
				if len(tc.names) > 50 {
					v = 1 // counts: 2^i would overflow
				}
				lines = append(lines, fmt.Sprintf("%s:%s|%s", name, strconv.FormatFloat(v, 'f', -1, 64), suffix))
				r := m.Match(name, typ)
				t.Logf("%s %-40q -> %q %v (mapping %d)", typ, name, r.Name, r.Labels, r.Index)
				if !r.Drop() {
					var keys []string
					for _, l := range r.Labels {
						keys = append(keys, l.Name)
					}
					ks := strings.Join(keys, ",")
					if prev, ok := labelSets[r.Name]; !ok || prev == ks {
						labelSets[r.Name] = ks
						if typ == Gauge {
							want[seriesKey(r.Name, r.Labels)] = v
						} else {
							want[seriesKey(r.Name, r.Labels)] += v
						}
					}
				}
				v *= 2
			}
			for _, n := range tc.names {
				add(n, Counter, "c")
			}
			for _, n := range tc.gauges {
				add(n, Gauge, "g")
			}
			e := statsdtest.Start(t, file)
			e.Send(t, lines...)
			got := parseMetrics(t, e.Metrics(t))
			for k, w := range want {
				if g, ok := got[k]; !ok {
					t.Errorf("missing at statsd_exporter: %s (want %g)", k, w)
				} else if g != w {
					t.Errorf("%s: statsd_exporter %g, Match %g", k, g, w)
				}
			}
			for k, g := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("only at statsd_exporter: %s %g", k, g)
				}
			}
			t.Logf("%d lines, %d series compared", len(lines), len(want))
		})
	}
}

func seriesKey(name string, labels []Label) string {
	ls := slices.Clone(labels)
	slices.SortFunc(ls, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
	var b strings.Builder
	b.WriteString(name)
	for _, l := range ls {
		fmt.Fprintf(&b, " %s=%q", l.Name, l.Value)
	}
	return b.String()
}

// parseMetrics reads the exposition text into series key -> value, leaving
// out the exporter's own metrics and the sentinel.
func parseMetrics(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, value := line, []Label(nil), ""
		if i := strings.IndexByte(line, '{'); i >= 0 {
			name = line[:i]
			rest := line[i+1:]
			for rest[0] != '}' {
				eq := strings.IndexByte(rest, '=')
				ln := rest[:eq]
				rest = rest[eq+2:] // skip ="
				var val strings.Builder
				for rest[0] != '"' {
					if rest[0] == '\\' {
						switch rest[1] {
						case 'n':
							val.WriteByte('\n')
						default:
							val.WriteByte(rest[1])
						}
						rest = rest[2:]
						continue
					}
					val.WriteByte(rest[0])
					rest = rest[1:]
				}
				labels = append(labels, Label{ln, val.String()})
				rest = strings.TrimPrefix(rest[1:], ",")
			}
			value = strings.TrimSpace(rest[1:])
		} else {
			name, value, _ = strings.Cut(line, " ")
		}
		if name == statsdtest.Sentinel || strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") ||
			strings.HasPrefix(name, "statsd_exporter_") || strings.HasPrefix(name, "statsd_metric_mapper_") || strings.HasPrefix(name, "promhttp_") {
			continue
		}
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[seriesKey(name, labels)] = f
	}
	return out
}

// TestSideBySideValidation runs statsd_exporter --check-config on every
// config of configCases and checks it accepts exactly those Parse accepts.
func TestSideBySideValidation(t *testing.T) {
	bin := statsdtest.Binary(t)
	dir := t.TempDir()
	for i, tc := range configCases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, fmt.Sprintf("c%d.yaml", i))
			if err := os.WriteFile(file, []byte(tc.config), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.CommandContext(t.Context(), bin, "--check-config", "--statsd.mapping-config="+file).CombinedOutput()
			_, perr := Parse([]byte(tc.config))
			if (err == nil) != (perr == nil) {
				t.Errorf("statsd_exporter accepts=%v (%v), Parse: %v\n%s", err == nil, err, perr, out)
			}
			if (perr == nil) != (tc.err == "") {
				t.Errorf("Parse: %v, want error %q", perr, tc.err)
			}
		})
	}
}
