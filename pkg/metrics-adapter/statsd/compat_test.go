package statsd

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/statsdtest"
)

// compatCorpus: lines for the side-by-side test. NAME becomes a name unique
// to the line, so that no two lines touch the same exporter series (a type
// or label-set conflict would be the exporter's state, not its parser).
var compatCorpus = []string{
	// Good.
	"NAME:1|c", "NAME.x:2.5|c", "NAME-x--y:3|c", "NAME:+4|c", "NAME:0x1p3|c",
	"NAME:42|g", "NAME:-0.5e1|g", "NAME:1|g\nNAME:+3|g", "NAME:10|g\nNAME:-3|g",
	"NAME:320|ms", "NAME:0.25|h", "NAME:7|d",
	"NAME:1|c|@0.1", "NAME:5|g|@0.1", "NAME:5|ms|@0.25", "NAME:5|h|@0.3", "NAME:2|c|@0", "NAME:5|ms|@2", "NAME:4|c|@2",
	"NAME:4|ms|@-1", "NAME:1|c|@0.5|@0.5", "NAME:4|c|@x", "NAME:4|c|@1e400", "NAME:4|ms|@y",
	"NAME:1|c:2|c", "NAME:1|c:x|c:3|c", "NAME:1|c:", "NAME:1:2:3|ms|@0.5|#k:v", "NAME:1:2|h", "NAME:1::2|d",
	"NAME:1|c|#k:v,k2:v2", "NAME:1|c|##k:v,#k2:v2", "NAME:1|c|#url:http://x", "NAME:1|c|#a.b-c:v,1x:y,a--b:z",
	"NAME:1|c|#k:v,k:w", "NAME:1|c|#a.b:v,a_b:w", "NAME:1|c|#k,:v,k:,,ok:1,", "NAME:1|c|#", "NAME:1|c|#k:v:2",
	"NAME:1|c|#k:v|c:abc", "NAME:1|c|T1656581400", "NAME:1|g|#k:v|T1|c:x|@0.5",
	"NAME,k=v,k2=v2:1|c", "NAME#k=v,k2=v2:1|c", "NAME,k=v#x=y:1|c", "NAME[k=v,k2=v2]:1|c", "NAME.[k=v]b:1|c",
	"NAME[k=v],x=y:1|c", "NAME[k=v,x=y:1|c", "NAME,k,=v,x=:1|c", "NAME,k:1|c|#x:y", "NAME,:1|c", "NAME,k=v,:1|c",
	"NAME:NaN|g", "NAME:+Inf|g", "NAME:-Inf|g", "NAME.ü:1|c", "NAME 1:1|c", "NAME:1|c|#k:ü v",
	// Bad.
	"NAME:1|C", "NAME:5|s", "NAME:1|x", "NAME:-1|c", "NAME:4|c|@-1", "NAME:1:2|c", "NAME:1|c|#k:v:2|g",
	"NAME,k=v:1|c|#x:y", "NAME#k=v:1|c|#x:y", "NAME[k=v]:1|c|#x:y",
	"NAMEabc", ":1|c", "NAME\xff:1|c", "NAME:1", "NAME:x|c", "NAME:|c", "NAME:1e400|g", "NAME:1|c|", "NAME:1|c||@1",
	"NAME:1|c|@1|@1|@1|@1|@1", "NAME:1|c|@1|@1|@1|@1", "NAME:1|c|x", "NAME:1|c|c", "NAME:1|c|c:", "NAME:1|s|@0.5",
	"NAME:1|ms|@0.5|@0.2", "NAME::1|c", "NAME:1||c", "NAME:1|c|#k:v\nNAME,a=b:2|c",
	// Edges.
	"NAME:1:2|ms|#k,ok:1", "NAME:1:2|d|c:x", "NAME:1:2|d|c", "NAME:1|ms|@0.001", "NAME:1|h|@1e-300", "NAME:1|h|@NaN",
	"NAME:1|c|@NaN", "NAME:1|c|@Inf", "NAME:-0|c", "NAME:1|c\n\nNAME:2|c", "NAME#a=1,b=2[x=y]:1|c", "NAME[a=1]#b=2:1|c",
	"NAME:1_000|c", "NAME: 1|c", "NAME:.5|g", "NAME:5.|g", "NAME:1E2|g", "NAME:infinity|g", "NAME:0x1.8p1|g",
	"NAME:1|c |@0.1", "NAME:1|c|# k : v ", "NAME,k=v,k=w:1|c", "NAME#k=a=b:1|c", "NAME:1|g|#k:v,k:", "NAME:3|c|@0.5:4|c",
}

// compatKnownDiffs: corpus entries whose error counts differ on purpose,
// with the reason key that differs (see README.md).
var compatKnownDiffs = map[string]string{
	// An extended-aggregation suffix is parsed once: its bad tags are
	// reported once, not once per value.
	"NAME:1:2|ms|#k,ok:1": "!malformed_tag",
}

// exporterStats reads the exporter's self-metrics and the corpus series.
type exporterStats map[string]float64

func scrape(t *testing.T, e *statsdtest.Exporter) exporterStats {
	t.Helper()
	s := exporterStats{}
	for _, line := range strings.Split(e.Metrics(t), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		s[line[:i]] = v
	}
	return s
}

// sum adds the samples of a metric (all label sets) whose series start
// with prefix.
func (s exporterStats) sum(prefix string) float64 {
	var n float64
	for k, v := range s {
		if k == prefix || strings.HasPrefix(k, prefix+"{") {
			n += v
		}
	}
	return n
}

// exporterOutcome is what the exporter did with one corpus entry, in this
// package's terms: accepted events by type and errors by Reason.
func exporterOutcome(before, after exporterStats) map[string]float64 {
	out := map[string]float64{}
	for _, typ := range []string{"counter", "gauge", "observer"} {
		k := `statsd_exporter_events_total{type="` + typ + `"}`
		out["event "+typ] = after[k] - before[k]
	}
	out["event counter"]-- // the sentinel
	for k, v := range after {
		if r, ok := strings.CutPrefix(k, `statsd_exporter_sample_errors_total{reason="`); ok {
			out["!"+strings.TrimSuffix(r, `"}`)] += v - before[k]
		}
		if r, ok := strings.CutPrefix(k, `statsd_exporter_events_error_total{reason="`); ok {
			out["!"+strings.TrimSuffix(r, `"}`)] += v - before[k]
		}
	}
	out["!malformed_tag"] = after.sum("statsd_exporter_tag_errors_total") - before.sum("statsd_exporter_tag_errors_total")
	out["!empty_name"] = after.sum("statsd_exporter_events_conflict_total") - before.sum("statsd_exporter_events_conflict_total")
	for k, v := range out {
		if v == 0 {
			delete(out, k)
		}
	}
	return out
}

// outcome collects the same from this parser, and the series values the
// exporter should show for the accepted events.
type outcome struct {
	counts map[string]float64
	series map[string]float64 // escaped name{sorted labels} -> value
}

func (o *outcome) Error(r Reason, _ []byte) { o.counts["!"+r.String()]++ }

func (o *outcome) Event(e *Event) {
	typ := e.Type.String()
	if e.Type.Observer() {
		typ = "observer"
	}
	o.counts["event "+typ] += float64(e.Repeat)
	sorted := slices.SortedFunc(slices.Values(e.Labels), func(a, b Label) int { return bytes.Compare(a.Name, b.Name) })
	labels := make([]string, 0, len(sorted))
	for _, l := range sorted {
		v := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(string(l.Value))
		labels = append(labels, string(l.Name)+`="`+v+`"`)
	}
	name := string(AppendEscaped(nil, e.Name))
	series := func(suffix string) string {
		if len(labels) == 0 {
			return name + suffix
		}
		return name + suffix + "{" + strings.Join(labels, ",") + "}"
	}
	switch {
	case e.Type == TypeCounter:
		o.series[series("")] += e.Value
	case e.Type == TypeGauge && e.Relative:
		o.series[series("")] += e.Value
	case e.Type == TypeGauge:
		o.series[series("")] = e.Value
	case e.Type.Observer():
		for range e.Repeat {
			o.series[series("_sum")] += e.ObservedValue()
		}
		o.series[series("_count")] += float64(e.Repeat)
	}
}

func sameFloat(a, b float64) bool {
	return a == b || math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// TestCompatStatsdExporter sends each corpus entry to a real statsd_exporter
// v0.31.0 and parses it here, and compares which samples each accepts, the
// errors each reports, and the resulting counter, gauge and summary
// _sum/_count values; with all tag dialects, without each one, and with
// none, through the --[no-]statsd.parse-*-tags flags.
func TestCompatStatsdExporter(t *testing.T) {
	flags := map[Dialect]string{
		DogStatsD: "--no-statsd.parse-dogstatsd-tags",
		InfluxDB:  "--no-statsd.parse-influxdb-tags",
		Librato:   "--no-statsd.parse-librato-tags",
		SignalFX:  "--no-statsd.parse-signalfx-tags",
	}
	for _, off := range []Dialect{0, DogStatsD, InfluxDB, Librato, SignalFX, AllDialects} {
		var args []string
		for d, flag := range flags {
			if off&d != 0 {
				args = append(args, flag)
			}
		}
		slices.Sort(args)
		name := strings.Join(args, ",")
		if name == "" {
			name = "default"
		}
		args = append(args, "--statsd.event-flush-interval=5ms")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			compat(t, Config{DisabledTags: off}, args)
		})
	}
}

func compat(t *testing.T, cfg Config, args []string) {
	e := statsdtest.Start(t, "", args...)
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := &outcome{series: map[string]float64{}}
	before := scrape(t, e)
	for i, entry := range compatCorpus {
		diff := compatKnownDiffs[entry]
		entry = strings.ReplaceAll(entry, "NAME", fmt.Sprintf("sbs%d", i))
		e.Send(t, strings.Split(entry, "\n")...)
		after := scrape(t, e)
		got := exporterOutcome(before, after)
		before = after

		mine := &outcome{counts: map[string]float64{}, series: want.series}
		p.Parse([]byte(entry), mine)
		if diff != "" {
			if cfg.DisabledTags&DogStatsD == 0 && got[diff] == mine.counts[diff] {
				t.Errorf("%q: known difference in %s gone: %v", entry, diff, got[diff])
			}
			delete(got, diff)
			delete(mine.counts, diff)
		}
		if fmt.Sprint(got) != fmt.Sprint(mine.counts) {
			t.Errorf("%q:\nstatsd_exporter %v\n         podkit %v", entry, got, mine.counts)
		}
	}
	final := scrape(t, e)
	for k, v := range want.series {
		if ev, ok := final[k]; !ok || !sameFloat(ev, v) {
			t.Errorf("series %s: statsd_exporter %v (present %v), podkit %v", k, ev, ok, v)
		}
	}
	for k, v := range final {
		if strings.HasPrefix(k, "sbs") && !strings.Contains(k, "quantile=") {
			if _, ok := want.series[k]; !ok {
				t.Errorf("series %s = %v only in statsd_exporter", k, v)
			}
		}
	}
}

// TestCompatExporterBreakers: lines statsd_exporter v0.31.0 takes and then
// fails on (a panic that ends the process, or a registry that makes every
// later /metrics scrape a 500). They cannot be in compatCorpus; here the
// exporter is shown to break, and this parser to reject them.
func TestCompatExporterBreakers(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"a]k=v[:1|c", "!malformed_tag a]k=v[ counter 1"}, // slice bounds panic
		{"#k=v:1|c", "!empty_name"},                       // "" is not a valid metric name
		{"[k=v]:1|c", "!empty_name"},
		{"r:1|c|#__x:1", "!reserved_label_name r counter 1"}, // "__x" is not a valid label name
	} {
		t.Run(tc.line, func(t *testing.T) {
			if got := strings.Join(parse(t, Config{}, tc.line), " "); got != tc.want {
				t.Errorf("podkit: %q, want %q", got, tc.want)
			}
			e := statsdtest.Start(t, "")
			c, err := net.Dial("tcp", e.TCPAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tc.line+"\n"); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				resp, err := http.Get(e.URL + "/metrics")
				if err != nil {
					return // the process is gone
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return
				}
			}
			t.Errorf("statsd_exporter still serves /metrics after %q (fixed upstream? then move it to compatCorpus)", tc.line)
		})
	}
}
