package scrape

import (
	"strings"
	"testing"
)

const fooText = `# HELP jvm_threads Threads.
# TYPE jvm_threads gauge
jvm_threads{state="runnable",pool="a"} 3
jvm_threads{state="blocked",pool="b"} 1
# TYPE http_requests_total counter
http_requests_total{code="200",handler="/x",__meta_x="m"} 10
http_requests_total{code="500",handler="/x"} 2
# TYPE rpc_seconds histogram
rpc_seconds_bucket{le="1"} 1
rpc_seconds_bucket{le="+Inf"} 2
rpc_seconds_sum 3
rpc_seconds_count 2
`

var relabelCases = []struct {
	name, rules, want string
}{
	{"rename via __name__", `
    - source_labels: [__name__]
      regex: jvm_(.*)
      target_label: __name__
      replacement: java_$1`, `# TYPE http_requests_total counter
http_requests_total{code="200",handler="/x"} 10
http_requests_total{code="500",handler="/x"} 2
# HELP java_threads Threads.
# TYPE java_threads gauge
java_threads{pool="a",state="runnable"} 3
java_threads{pool="b",state="blocked"} 1
# TYPE rpc_seconds histogram
rpc_seconds_bucket{le="1"} 1
rpc_seconds_bucket{le="+Inf"} 2
rpc_seconds_sum 3
rpc_seconds_count 2
`},
	{"drop by name and value; regex anchored", `
    - source_labels: [__name__, code]
      regex: http_requests_total;5..
      action: drop
    - source_labels: [__name__]
      regex: rpc
      action: drop`, `# TYPE http_requests_total counter
http_requests_total{code="200",handler="/x"} 10
# HELP jvm_threads Threads.
# TYPE jvm_threads gauge
jvm_threads{pool="a",state="runnable"} 3
jvm_threads{pool="b",state="blocked"} 1
# TYPE rpc_seconds histogram
rpc_seconds_bucket{le="1"} 1
rpc_seconds_bucket{le="+Inf"} 2
rpc_seconds_sum 3
rpc_seconds_count 2
`},
	{"keep", `
    - source_labels: [__name__]
      regex: jvm_.*
      action: keep`, `# HELP jvm_threads Threads.
# TYPE jvm_threads gauge
jvm_threads{pool="a",state="runnable"} 3
jvm_threads{pool="b",state="blocked"} 1
`},
	{"labeldrop, labelmap, lowercase, default replace", `
    - action: labeldrop
      regex: pool|handler
    - action: labelmap
      regex: (state|code)
      replacement: app_$1
    - source_labels: [app_state]
      target_label: up_state
      action: uppercase
    - source_labels: [state]
      target_label: copy
    - action: labeldrop
      regex: state|code
    - source_labels: [__name__]
      regex: (jvm|rpc).*
      action: keep`, `# HELP jvm_threads Threads.
# TYPE jvm_threads gauge
jvm_threads{app_state="blocked",copy="blocked",up_state="BLOCKED"} 1
jvm_threads{app_state="runnable",copy="runnable",up_state="RUNNABLE"} 3
# TYPE rpc_seconds histogram
rpc_seconds_bucket{le="1"} 1
rpc_seconds_bucket{le="+Inf"} 2
rpc_seconds_sum 3
rpc_seconds_count 2
`},
	{"renamed into another type is dropped; empty replacement deletes", `
    - source_labels: [__name__]
      regex: http_requests_total
      target_label: __name__
      replacement: jvm_threads
    - target_label: pool
      replacement: ""
    - source_labels: [__name__]
      regex: jvm.*
      action: keep`, `# HELP jvm_threads Threads.
# TYPE jvm_threads gauge
jvm_threads{state="blocked"} 1
jvm_threads{state="runnable"} 3
`},
}

func TestRelabel(t *testing.T) {
	for _, tc := range relabelCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := "scrapes:\n  x:\n    metric_relabel_configs:" + tc.rules
			if got := render(t, cfg, []byte(fooText)); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestPassThroughAndOpenMetrics(t *testing.T) {
	// No rules: what the parser read, less the __ labels.
	got := render(t, "scrapes:\n  x: {}\n", []byte(fooText))
	if !strings.Contains(got, `http_requests_total{code="200",handler="/x"} 10`) || strings.Contains(got, "__meta") {
		t.Errorf("pass-through:\n%s", got)
	}
	om := `# TYPE foo counter
# HELP foo Foos.
# UNIT foo seconds
foo_total{a="1"} 5 1700000000.5 # {trace_id="x"} 1 1700000000
foo_created{a="1"} 1600000000
# TYPE st stateset
st{st="on"} 1
# TYPE bi info
bi_info{version="1.2"} 1
# TYPE u unknown
u 4
# EOF
`
	c, err := compileTarget("x", &Target{}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	fams, _, err := c.process([]byte(om), "application/openmetrics-text; version=1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fams {
		names = append(names, f.GetName()+":"+f.GetType().String())
	}
	if want := "bi_info:GAUGE foo_total:COUNTER st:GAUGE u:UNTYPED"; strings.Join(names, " ") != want {
		t.Errorf("OpenMetrics families %v, want %s", names, want)
	}
	if m := fams[1].Metric[0]; m.GetTimestampMs() != 1700000000500 || m.GetCounter().GetValue() != 5 || fams[1].GetHelp() != "Foos." {
		t.Errorf("foo_total: %v help %q", m, fams[1].GetHelp())
	}
}

func TestRelabelConfigErrors(t *testing.T) {
	for _, tc := range []struct{ rule, want string }{
		{"action: replace", "target_label: required"},
		{"action: frob", `action: unknown "frob"`},
		{"regex: '('\n      action: drop", "regex: invalid"},
		{"action: labeldrop\n      regex: x\n      target_label: y", "only regex is allowed"},
		{"action: hashmod\n      target_label: y", "modulus: required"},
		{"source_labels: ['a-b']\n      action: drop", "source_labels"},
		{"action: drop\n      regex: x\n      bogus: 1", "field bogus not found"},
	} {
		_, err := ParseConfig([]byte("scrapes:\n  app:\n    metric_relabel_configs:\n    - " + tc.rule + "\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "scrapes.app") {
			t.Errorf("%q: got %v, want scrapes.app and %q", tc.rule, err, tc.want)
		}
	}
}
