package series

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newStore(t testing.TB, cfg Config) (*Store, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Unix(1e9, 0)}
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

// parse exposes s as text and parses it back with expfmt.
func parse(t testing.TB, s *Store) map[string]*dto.MetricFamily {
	t.Helper()
	var b bytes.Buffer
	if err := s.Expose(&b, FormatText); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(&b)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, b.String())
	}
	return mfs
}

func ls(kv ...string) []Label {
	var out []Label
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, Label{kv[i], kv[i+1]})
	}
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCounterGauge(t *testing.T) {
	s, _ := newStore(t, Config{})
	must(t, s.Add("c", ls("b", "2", "a", "1"), 1, nil))
	must(t, s.Add("c", ls("a", "1", "b", "2"), 2.5, nil)) // same series, other order
	must(t, s.Add("c", nil, 1, &Options{Help: "my help"}))
	must(t, s.Set("g", nil, 5, nil))
	must(t, s.AddGauge("g", nil, -2, nil))
	must(t, s.AddGauge("g2", ls("x", "y"), 3, nil))
	if err := s.Add("c", nil, -1, nil); !errors.Is(err, ErrNegative) {
		t.Fatalf("negative: %v", err)
	}
	mfs := parse(t, s)
	c := mfs["c"]
	if c.GetType() != dto.MetricType_COUNTER || len(c.Metric) != 2 || c.GetHelp() != DefaultHelp {
		t.Fatalf("c: %v", c)
	}
	// Fewer labels first, as client_golang sorts.
	if c.Metric[0].Counter.GetValue() != 1 || c.Metric[1].Counter.GetValue() != 3.5 {
		t.Fatalf("c values: %v", c)
	}
	if g := mfs["g"].Metric[0].Gauge.GetValue(); g != 3 {
		t.Fatalf("g = %v", g)
	}
	if g := mfs["g2"].Metric[0].Gauge.GetValue(); g != 3 {
		t.Fatalf("g2 = %v", g)
	}
	if s.Len() != 4 {
		t.Fatalf("Len = %d", s.Len())
	}
}

func TestHistogram(t *testing.T) {
	s, _ := newStore(t, Config{})
	o := &Options{Buckets: []float64{1, 0.5, 2, math.Inf(1)}}
	for _, v := range []float64{0.1, 0.5, 0.7, 3, math.NaN()} {
		must(t, s.Observe("h", ls("l", "v"), Histogram, v, 1, o))
	}
	must(t, s.Observe("h", ls("l", "v"), Histogram, 1, 10, o)) // sample rate 0.1
	h := parse(t, s)["h"].Metric[0].Histogram
	want := []uint64{2, 13, 13, 15}
	for i, b := range h.Bucket {
		if b.GetCumulativeCount() != want[i] {
			t.Fatalf("bucket %v = %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want[i])
		}
	}
	if h.GetSampleCount() != 15 || !math.IsNaN(h.GetSampleSum()) {
		t.Fatalf("count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
	// Default buckets.
	must(t, s.Observe("h2", nil, Histogram, 0.3, 1, nil))
	if n := len(parse(t, s)["h2"].Metric[0].Histogram.Bucket); n != len(prometheus.DefBuckets)+1 {
		t.Fatalf("default buckets: %d", n)
	}
	if err := s.Observe("h3", ls("le", "1"), Histogram, 1, 1, nil); !errors.Is(err, ErrInvalidLabel) {
		t.Fatalf("le label: %v", err)
	}
}

func TestSummary(t *testing.T) {
	s, clk := newStore(t, Config{SummarySamples: 8})
	o := &Options{Quantiles: []Quantile{{0.9, 0.01}, {0.5, 0.05}, {0, 0}, {1, 0}}, MaxAge: 50 * time.Second, AgeBuckets: 5}
	for i := 1; i <= 4; i++ {
		must(t, s.Observe("s", nil, Summary, float64(i), 1, o))
	}
	q := func() []float64 {
		var out []float64
		for _, x := range parse(t, s)["s"].Metric[0].Summary.Quantile {
			out = append(out, x.GetValue())
		}
		return out
	}
	if got := fmt.Sprint(q()); got != "[1 2 4 4]" {
		t.Fatalf("quantiles 0, .5, .9, 1 = %s", got)
	}
	// Beyond the reservoir: many observations, the quantiles are estimates.
	for i := range 10000 {
		must(t, s.Observe("s", nil, Summary, float64(i%100), 1, o))
	}
	got := q()
	if !(got[0] >= 0 && got[0] <= got[1] && got[1] <= got[2] && got[2] <= got[3] && got[3] <= 99) {
		t.Fatalf("estimates: %v", got)
	}
	// Quantiles cover MaxAge only; _sum and _count are forever.
	clk.Add(time.Minute)
	if got := q(); !math.IsNaN(got[0]) {
		t.Fatalf("after max age: %v", got)
	}
	sm := parse(t, s)["s"].Metric[0].Summary
	if sm.GetSampleCount() != 10004 {
		t.Fatalf("count %d", sm.GetSampleCount())
	}
	// A large repeat count keeps the reservoir bounded.
	must(t, s.Observe("s", nil, Summary, 7, 1_000_000, o))
	if got := q(); got[1] != 7 {
		t.Fatalf("repeat: %v", got)
	}
	if err := s.Observe("s2", ls("quantile", "1"), Summary, 1, 1, nil); !errors.Is(err, ErrInvalidLabel) {
		t.Fatalf("quantile label: %v", err)
	}
}

func TestReservoirBounded(t *testing.T) {
	s, clk := newStore(t, Config{SummarySamples: 16})
	for i := range 100000 {
		must(t, s.Observe("s", nil, Summary, float64(i), 1+i%3, nil))
		if i%1000 == 0 {
			clk.Add(7 * time.Second)
		}
	}
	sh := s.shards
	for i := range sh {
		for _, se := range sh[i].m {
			for _, w := range se.obs.sum.wins {
				if cap(w.samples) > 16 {
					t.Fatalf("window capacity %d", cap(w.samples))
				}
			}
		}
	}
}

func TestConflicts(t *testing.T) {
	type up struct {
		name string
		t    Type
		err  error
	}
	cases := []struct {
		name string
		ups  []up
	}{
		{"counter then gauge", []up{{"a", Counter, nil}, {"a", Gauge, ErrConflict}}},
		{"gauge then summary", []up{{"a", Gauge, nil}, {"a", Summary, ErrConflict}}},
		{"histogram then summary", []up{{"a", Histogram, nil}, {"a", Summary, ErrConflict}}},
		{"counter x_sum after histogram x", []up{{"a", Histogram, nil}, {"a_sum", Counter, ErrConflict}, {"a_bucket", Gauge, ErrConflict}}},
		{"counter x_sum after counter x", []up{{"a", Counter, nil}, {"a_sum", Counter, nil}}},
		// statsd_exporter checks against the counter type for gauges too.
		{"gauge x_count after gauge x", []up{{"a", Gauge, nil}, {"a_count", Gauge, ErrConflict}}},
		{"histogram x after counter x_count", []up{{"a_count", Counter, nil}, {"a", Histogram, ErrConflict}}},
		{"summary x after gauge x_sum", []up{{"a_sum", Gauge, nil}, {"a", Summary, ErrConflict}}},
		{"summary x after counter x_bucket", []up{{"a_bucket", Counter, nil}, {"a", Summary, nil}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t, Config{})
			for i, u := range tc.ups {
				var err error
				switch u.t {
				case Counter:
					err = s.Add(u.name, ls("k", fmt.Sprint(i)), 1, nil)
				case Gauge:
					err = s.Set(u.name, ls("k", fmt.Sprint(i)), 1, nil)
				default:
					err = s.Observe(u.name, ls("k", fmt.Sprint(i)), u.t, 1, 1, nil)
				}
				if !errors.Is(err, u.err) {
					t.Fatalf("update %d (%s %v): %v, want %v", i, u.name, u.t, err, u.err)
				}
			}
			parse(t, s)
		})
	}
	// Different label names for one name are accepted, as statsd_exporter
	// does (its vectors are unchecked collectors).
	s, _ := newStore(t, Config{})
	must(t, s.Add("a", ls("x", "1"), 1, nil))
	must(t, s.Add("a", ls("y", "1"), 1, nil))
	if err := s.Set("a", ls("x", "1"), 1, nil); !errors.Is(err, ErrConflict) {
		t.Fatal(err)
	}
	if n := len(parse(t, s)["a"].Metric); n != 2 {
		t.Fatalf("%d series", n)
	}
	st := s.Stats()
	if st.Rejected["type_conflict"] != 1 || st.Conflicts["gauge"] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestInvalid(t *testing.T) {
	s, _ := newStore(t, Config{})
	for _, tc := range []struct {
		name   string
		labels []Label
		err    error
	}{
		{"", nil, ErrInvalidName},
		{"1a", nil, ErrInvalidName},
		{"a-b", nil, ErrInvalidName},
		{"a", ls("__x", "1"), ErrInvalidLabel},
		{"a", ls("x-y", "1"), ErrInvalidLabel},
		{"a", ls("x", "1", "x", "2"), ErrInvalidLabel},
		{"a", ls("x", "\xff"), ErrInvalidLabel},
		{"a", ls("", "1"), ErrInvalidLabel},
		{"a:b_c", ls("_x", "\x00\x01\n\"\\"), nil},
	} {
		if err := s.Add(tc.name, tc.labels, 1, nil); !errors.Is(err, tc.err) {
			t.Errorf("%q %v: %v, want %v", tc.name, tc.labels, err, tc.err)
		}
	}
	if v := parse(t, s)["a:b_c"].Metric[0].Label[0].GetValue(); v != "\x00\x01\n\"\\" {
		t.Fatalf("value %q", v)
	}
}

func TestTTL(t *testing.T) {
	s, clk := newStore(t, Config{})
	must(t, s.Add("a", ls("k", "1"), 1, &Options{TTL: time.Minute}))
	must(t, s.Add("a", ls("k", "2"), 1, &Options{TTL: 2 * time.Minute}))
	must(t, s.Add("b", nil, 1, nil)) // no TTL
	clk.Add(50 * time.Second)
	must(t, s.Add("a", ls("k", "1"), 1, &Options{TTL: time.Minute})) // refreshed
	clk.Add(50 * time.Second)
	if n := s.Sweep(); n != 0 {
		t.Fatalf("swept %d", n)
	}
	clk.Add(30 * time.Second) // k=1 idle 80s, k=2 idle 130s
	if n := s.Sweep(); n != 2 {
		t.Fatalf("swept %d, want 2", n)
	}
	if s.Len() != 1 || s.Stats().Expired != 2 {
		t.Fatalf("len %d stats %+v", s.Len(), s.Stats())
	}
	// The name is forgotten with its last series: it may change type.
	must(t, s.Set("a", nil, 1, nil))
	if got := parse(t, s)["a"].GetType(); got != dto.MetricType_GAUGE {
		t.Fatalf("type %v", got)
	}
}

func TestRunSweeps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{}) // time.Now is the bubble's fake clock
		must(t, err)
		must(t, s.Add("a", nil, 1, &Options{TTL: time.Second}))
		must(t, s.Add("b", nil, 1, &Options{TTL: time.Hour}))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.Run(ctx, 0) }()
		defer func() { cancel(); must(t, <-done) }()
		// Expired once idle longer than the TTL, at the 2s tick.
		time.Sleep(2500 * time.Millisecond)
		synctest.Wait()
		if s.Len() != 1 {
			t.Fatalf("len %d after 2.5s", s.Len())
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if s.Len() != 0 {
			t.Fatalf("len %d after 1h", s.Len())
		}
	})
}

func TestMaxSeries(t *testing.T) {
	s, _ := newStore(t, Config{MaxSeries: 3})
	for i := range 5 {
		err := s.Add("a", ls("k", fmt.Sprint(i)), 1, nil)
		if (i < 3) != (err == nil) || i >= 3 && !errors.Is(err, ErrMaxSeries) {
			t.Fatalf("series %d: %v", i, err)
		}
	}
	must(t, s.Add("a", ls("k", "0"), 1, nil)) // existing keep updating
	if got := s.Stats().Rejected["max_series"]; got != 2 {
		t.Fatalf("rejected %d", got)
	}
	if mfs := parse(t, s); len(mfs["a"].Metric) != 3 || mfs["a"].Metric[0].Counter.GetValue() != 2 {
		t.Fatalf("%v", mfs["a"])
	}
}

func TestConcurrent(t *testing.T) {
	s, clk := newStore(t, Config{MaxSeries: 500, Shards: 4})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				l := ls("k", fmt.Sprint(i%600))
				switch g % 4 {
				case 0:
					_ = s.Add("c", l, 1, &Options{TTL: time.Second})
				case 1:
					_ = s.AddGauge("g", l, 1, nil)
				case 2:
					_ = s.Observe("h", l, Histogram, float64(i), 1, nil)
				case 3:
					_ = s.Observe("s", l, Summary, float64(i), 1, nil)
				}
				if i%500 == 0 {
					clk.Add(time.Second)
					s.Sweep()
					parse(t, s)
				}
			}
		})
	}
	wg.Wait()
	if s.Len() > 500 {
		t.Fatalf("len %d", s.Len())
	}
	st := s.Stats()
	n := 0
	for _, v := range st.Series {
		n += v
	}
	if n != s.Len() {
		t.Fatalf("stats %v vs len %d", st.Series, s.Len())
	}
}

func TestSelfMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s, _ := newStore(t, Config{Registry: reg, MaxSeries: 1})
	must(t, s.Add("a", nil, 1, nil))
	_ = s.Add("b", nil, 1, nil)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
	want := `
# HELP podkit_metrics_adapter_series_rejected_total Updates the series store rejected, by reason.
# TYPE podkit_metrics_adapter_series_rejected_total counter
podkit_metrics_adapter_series_rejected_total{reason="illegal_negative_counter"} 0
podkit_metrics_adapter_series_rejected_total{reason="invalid_label"} 0
podkit_metrics_adapter_series_rejected_total{reason="invalid_name"} 0
podkit_metrics_adapter_series_rejected_total{reason="max_series"} 1
podkit_metrics_adapter_series_rejected_total{reason="type_conflict"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "podkit_metrics_adapter_series_rejected_total"); err != nil {
		t.Fatal(err)
	}
}

func TestNewErrors(t *testing.T) {
	for _, c := range []Config{{MaxSeries: -1}, {Shards: -1}, {SummarySamples: -2}} {
		if _, err := New(c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
