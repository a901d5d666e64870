package metricsadapter

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/podkit/podkit/internal/proctest"
	"github.com/podkit/podkit/internal/statsdtest"
)

// start runs an Adapter on free loopback ports until the test ends and
// returns it with a statsdtest client for it (Send waits for the lines).
func start(t *testing.T, cfg Config) (*Adapter, *statsdtest.Exporter) {
	t.Helper()
	cfg.StatsdUDPAddr, cfg.StatsdTCPAddr, cfg.MetricsAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a, run(t, a)
}

// runAdapter starts a.Run and returns what stops it and checks its result.
func runAdapter(t *testing.T, a *Adapter) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

// families parses an exposition, without the exporters' own metrics.
func families(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, text)
	}
	for name := range mfs {
		for _, pre := range []string{"go_", "process_", "statsd_exporter_", "statsd_metric_mapper_", "podkit_", "promhttp_", statsdtest.Sentinel} {
			if strings.HasPrefix(name, pre) {
				delete(mfs, name)
			}
		}
	}
	return mfs
}

// flatten lists every sample as "name{labels} type value", sorted; summary
// quantiles are left out (podkit's reservoir and client_golang's stream
// may pick different samples; sums and counts must agree).
func flatten(mfs map[string]*dto.MetricFamily) []string {
	var out []string
	for name, mf := range mfs {
		for _, m := range mf.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			slices.Sort(ls)
			id := name + "{" + strings.Join(ls, ",") + "} " + strings.ToLower(mf.GetType().String())
			f := func(v float64) string { return model.SampleValue(v).String() }
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out = append(out, id+" "+f(m.Counter.GetValue()))
			case dto.MetricType_GAUGE:
				out = append(out, id+" "+f(m.Gauge.GetValue()))
			case dto.MetricType_SUMMARY:
				out = append(out, id+" sum="+f(m.Summary.GetSampleSum())+" count="+model.SampleValue(m.Summary.GetSampleCount()).String())
			case dto.MetricType_HISTOGRAM:
				s := id + " sum=" + f(m.Histogram.GetSampleSum()) + " count=" + model.SampleValue(m.Histogram.GetSampleCount()).String()
				for _, b := range m.Histogram.Bucket {
					s += " " + f(b.GetUpperBound()) + ":" + model.SampleValue(b.GetCumulativeCount()).String()
				}
				out = append(out, s)
			default:
				out = append(out, id+" "+f(m.Untyped.GetValue()))
			}
		}
	}
	slices.Sort(out)
	return out
}

const compareMapping = `
defaults:
  observer_type: summary
  ttl: 0
mappings:
- match: "test.dispatcher.*.*.*"
  name: "dispatcher_events_total"
  labels:
    processor: "$1"
    action: "$2"
    outcome: "$3"
    job: "test_dispatcher"
- match: "*.signup.*.*"
  name: "signup_events_total"
  labels:
    provider: "$2"
    outcome: "$3"
    job: "${1}_server"
- match: "api.latency.*"
  observer_type: histogram
  histogram_options:
    buckets: [0.01, 0.1, 1]
  name: "api_latency_seconds"
  labels:
    route: "$1"
- match: "honored.*"
  name: "honored_total"
  honor_labels: true
  labels:
    env: "mapping"
- match: "overridden.*"
  name: "overridden_total"
  labels:
    env: "mapping"
- match: "scaled.*"
  name: "scaled_bytes"
  scale: 1024
- match: "drop.*"
  action: drop
  name: "dropped"
- match: "gauge_only.*"
  match_metric_type: gauge
  name: "gauge_only"
- match: 'request_(\w+)_(\d+)'
  match_type: regex
  name: "requests_${1}_total"
  labels:
    code: "$2"
`

var compareLines = []string{
	"test.dispatcher.FooProcessor.send.success:1|c",
	"test.dispatcher.FooProcessor.send.success:2|c|@0.5",
	"test.dispatcher.BarProcessor.recv.failure:3|c",
	"foo_product.signup.facebook.failure:1|c",
	"bar_product.signup.google.success:4|c|#region:eu",
	"api.latency.login:5|ms",
	"api.latency.login:250|ms|@0.25",
	"api.latency.home:0.002|h",
	"api.latency.home:2|d",
	"honored.a:1|c|#env:tag",
	"overridden.a:1|c|#env:tag",
	"scaled.rx:3|g",
	"drop.me:1|c",
	"gauge_only.x:7|g",
	"gauge_only.y:7|c",
	"request_get_200:1|c",
	"request_post_500:2|c",
	"plain.gauge:10|g",
	"plain.gauge:+5|g",
	"plain.gauge:-3|g",
	"plain.timer:100|ms",
	"plain.timer:300|ms",
	"influx.style,host=a,dc=x:1|c",
	"librato.style#host=b:2|c",
	"signalfx.style[host=c]:3|c",
	"dog.style:4|c|#host:d,role:web",
	"multi:1|c:2|c",
	"ext.agg:1:2:3|ms",
	"neg.counter:-1|c",
	"conflict.name:1|c",
	"conflict.name:1|g",
	"bad line",
	"bad:value|c",
	"bad:1|zz",
	"with space.x:1|c",
	"a.b:1|c|#,",
	"unicode.ü:1|c",
}

// TestSideBySideStatsdExporter is the compatibility check: the same
// lines and mapping file into statsd_exporter v0.31.0 and into podkit give
// the same /metrics (names, labels, types, values; summary sums and counts).
func TestSideBySideStatsdExporter(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mapping.yml")
	if err := os.WriteFile(file, []byte(compareMapping), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := statsdtest.Start(t, file)
	_, pk := start(t, Config{MappingFile: file})
	ref.Send(t, compareLines...)
	pk.Send(t, compareLines...)
	want, got := flatten(families(t, ref.Metrics(t))), flatten(families(t, pk.Metrics(t)))
	if len(want) < 20 {
		t.Fatalf("statsd_exporter exposed only %d samples: the corpus is not exercised\n%s", len(want), strings.Join(want, "\n"))
	}
	if !slices.Equal(want, got) {
		t.Errorf("/metrics differs from statsd_exporter's\n--- statsd_exporter\n%s\n--- podkit\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}

// metricValue reads one sample of the adapter's /metrics ("" labels: the
// unlabelled one); -1 when absent.
func metricValue(t *testing.T, e *statsdtest.Exporter, name, labels string) float64 {
	t.Helper()
	for line := range strings.SplitSeq(e.Metrics(t), "\n") {
		if v, ok := strings.CutPrefix(line, name+labels+" "); ok {
			f, err := parseFloat(v)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return -1
}

func parseFloat(s string) (float64, error) {
	var v model.SampleValue
	err := v.UnmarshalJSON([]byte(`"` + s + `"`))
	return float64(v), err
}

func TestMaxSeriesKeepsExisting(t *testing.T) {
	_, pk := start(t, Config{MaxSeries: 3})
	pk.Send(t, "a:1|c", "b:1|c") // with the sentinel: 3 series
	pk.Send(t, "c:1|c", "d:1|c", "a:5|c")
	if v := metricValue(t, pk, "a", ""); v != 6 {
		t.Errorf("existing series a = %v, want 6", v)
	}
	for _, n := range []string{"c", "d"} {
		if v := metricValue(t, pk, n, ""); v != -1 {
			t.Errorf("series %s beyond --max-series exists (%v)", n, v)
		}
	}
	if v := metricValue(t, pk, "podkit_metrics_adapter_samples_dropped_total", `{reason="max_series"}`); v != 2 {
		t.Errorf("max_series drops = %v, want 2", v)
	}
}

func TestMalformedCountedRestKept(t *testing.T) {
	_, pk := start(t, Config{})
	// One UDP packet: the good lines around the bad ones are stored.
	c, err := net.Dial("udp", pk.UDPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("ok.one:1|c\nbroken\nok.two:2|c\nx:y|c\nneg:-1|c\nok.three:3|c\n"))
	for i := 0; metricValue(t, pk, "ok_three", "") == -1; i++ {
		if i == 500 {
			t.Fatal("the UDP packet was not handled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for name, want := range map[string]float64{"ok_one": 1, "ok_two": 2, "ok_three": 3} {
		if v := metricValue(t, pk, name, ""); v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	for reason, want := range map[string]float64{"malformed_line": 1, "malformed_value": 1, "illegal_negative_counter": 1} {
		if v := metricValue(t, pk, "podkit_metrics_adapter_parse_errors_total", `{input="statsd",reason="`+reason+`"}`); v != want {
			t.Errorf("parse errors %s = %v, want %v", reason, v, want)
		}
	}
}

func TestMappingReload(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mapping.yml")
	put := func(s string) {
		os.WriteFile(file+".new", []byte(s), 0o644)
		if err := os.Rename(file+".new", file); err != nil {
			t.Fatal(err)
		}
	}
	put("mappings:\n- match: app.*\n  name: first_$1\n")
	a, pk := start(t, Config{MappingFile: file, WatchInterval: 10 * time.Millisecond})
	pk.Send(t, "app.x:1|c")
	if v := metricValue(t, pk, "first_x", ""); v != 1 {
		t.Fatalf("first_x = %v", v)
	}
	put("mappings:\n- match: app.*\n  name: second_$1\n")
	waitFor(t, func() bool { n, _, _ := a.reloader.Results(); return n == 1 })
	pk.Send(t, "app.x:1|c")
	if v := metricValue(t, pk, "second_x", ""); v != 1 {
		t.Fatalf("after the reload second_x = %v", v)
	}
	put("mappings:\n- match: app.*\n  name: bad name\n")
	waitFor(t, func() bool { _, r, _ := a.reloader.Results(); return r == 1 })
	pk.Send(t, "app.y:1|c")
	if v := metricValue(t, pk, "second_y", ""); v != 1 {
		t.Fatalf("after a rejected file the old mapping does not run: second_y = %v", v)
	}
	if v := metricValue(t, pk, "podkit_config_last_reload_successful", ""); v != 0 {
		t.Fatalf("podkit_config_last_reload_successful = %v after a bad file", v)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	proctest.Eventually(t, cond, "condition not met in 30s")
}

func TestOpenMetricsAndGzip(t *testing.T) {
	_, pk := start(t, Config{})
	pk.Send(t, "om.test:1|c")
	req, _ := http.NewRequest("GET", pk.URL+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/openmetrics-text") {
		t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	if strings.Count(text, "# EOF") != 1 || !strings.HasSuffix(text, "# EOF\n") {
		t.Errorf("OpenMetrics must end with exactly one # EOF:\n%s", text)
	}
	if !strings.Contains(text, "podkit_metrics_adapter_lines_total") || !strings.Contains(text, "om_test") {
		t.Errorf("missing adapted or own metrics:\n%s", text)
	}
	if math.IsNaN(metricValue(t, pk, "om_test", "")) {
		t.Fatal("unreachable")
	}
}
