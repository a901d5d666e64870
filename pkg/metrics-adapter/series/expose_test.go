package series

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// fill puts one of each kind into s and the same metrics into a
// client_golang registry, whose Gather gives the reference families.
func fill(t *testing.T, s *Store) []*dto.MetricFamily {
	reg := prometheus.NewRegistry()
	cv := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "req_total", Help: "Requests \\ \"quoted\"\nnext."}, []string{"code", "path"})
	c2 := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plain", Help: DefaultHelp}, []string{"a"})
	gv := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "temp", Help: DefaultHelp}, []string{"room"})
	hv := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lat", Help: "h", Buckets: []float64{0.1, 1, 10}}, []string{"op"})
	reg.MustRegister(cv, c2, gv, hv)

	oc := &Options{Help: "Requests \\ \"quoted\"\nnext."}
	for _, x := range []struct {
		code, path string
		v          float64
	}{{"200", "/", 3}, {"500", "/x\n\"y\"\\", 1e21}, {"200", "/a", 0.25}, {"404", "/", 1}} {
		cv.WithLabelValues(x.code, x.path).Add(x.v)
		must(t, s.Add("req_total", ls("path", x.path, "code", x.code), x.v, oc))
	}
	for _, v := range []string{"b", "a", "ä"} {
		c2.WithLabelValues(v).Add(1)
		must(t, s.Add("plain", ls("a", v), 1, nil))
	}
	for _, x := range []struct {
		room string
		v    float64
	}{{"k", -1}, {"l", 0}, {"m", math.Inf(-1)}, {"n", 1e-7}, {"o", 42}} {
		gv.WithLabelValues(x.room).Set(x.v)
		must(t, s.Set("temp", ls("room", x.room), x.v, nil))
	}
	oh := &Options{Help: "h", Buckets: []float64{0.1, 1, 10}}
	for _, v := range []float64{0.05, 0.5, 5, 50, 1} {
		hv.WithLabelValues("get").Observe(v)
		must(t, s.Observe("lat", ls("op", "get"), Histogram, v, 1, oh))
	}
	must(t, s.Observe("lat2", nil, Histogram, 1, 1, &Options{Buckets: []float64{1}}))
	h2 := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "lat2", Help: DefaultHelp, Buckets: []float64{1}})
	h2.Observe(1)
	reg.MustRegister(h2)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	// A summary with exact quantiles (few samples), built by hand.
	for _, v := range []float64{3, 1, 2} {
		must(t, s.Observe("dur", ls("k", "v"), Summary, v, 1, &Options{Quantiles: []Quantile{{0.5, 0}, {0.99, 0}}}))
	}
	name, help, typ := "dur", DefaultHelp, dto.MetricType_SUMMARY
	lk, lv, cnt, sum := "k", "v", uint64(3), 6.0
	q1, q2, v1, v2 := 0.5, 0.99, 2.0, 3.0
	mfs = append(mfs[:0:0], mfs...)
	mfs = append([]*dto.MetricFamily{{Name: &name, Help: &help, Type: &typ, Metric: []*dto.Metric{{
		Label:   []*dto.LabelPair{{Name: &lk, Value: &lv}},
		Summary: &dto.Summary{SampleCount: &cnt, SampleSum: &sum, Quantile: []*dto.Quantile{{Quantile: &q1, Value: &v1}, {Quantile: &q2, Value: &v2}}},
	}}}}, mfs...)
	return mfs
}

func TestExposeMatchesExpfmt(t *testing.T) {
	s, _ := newStore(t, Config{})
	mfs := fill(t, s)
	for _, tc := range []struct {
		name string
		f    Format
		enc  func(io.Writer, *dto.MetricFamily) error
		end  string
	}{
		{"text", FormatText, func(w io.Writer, mf *dto.MetricFamily) error { _, err := expfmt.MetricFamilyToText(w, mf); return err }, ""},
		{"openmetrics", FormatOpenMetrics, func(w io.Writer, mf *dto.MetricFamily) error {
			_, err := expfmt.MetricFamilyToOpenMetrics(w, mf)
			return err
		}, "# EOF\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want, got bytes.Buffer
			for _, mf := range mfs { // dur sorts first; Gather sorted the rest
				if err := tc.enc(&want, mf); err != nil {
					t.Fatal(err)
				}
			}
			want.WriteString(tc.end)
			if err := s.Expose(&got, tc.f); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("got:\n%s\nwant:\n%s", got.String(), want.String())
			}
		})
	}
}

func TestHandler(t *testing.T) {
	s, _ := newStore(t, Config{})
	must(t, s.Add("x_total", ls("a", "b"), 1, nil))
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	get := func(accept, enc string) (*http.Response, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL, nil)
		req.Header.Set("Accept", accept)
		req.Header.Set("Accept-Encoding", enc)
		resp, err := srv.Client().Transport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	resp, body := get("", "")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.Contains(body, `x_total{a="b"} 1`) || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("%v\n%s", resp.Header, body)
	}
	resp, body = get("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5", "gzip")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/openmetrics-text") || !strings.HasSuffix(body, "# EOF\n") || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("%v\n%s", resp.Header, body)
	}
	resp, _ = get("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited", "gzip;q=0, br")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("%v", resp.Header)
	}
}

func TestScrapeEmpty(t *testing.T) {
	s, _ := newStore(t, Config{})
	var b bytes.Buffer
	must(t, s.Expose(&b, FormatOpenMetrics))
	if b.String() != "# EOF\n" {
		t.Fatalf("%q", b.String())
	}
}
