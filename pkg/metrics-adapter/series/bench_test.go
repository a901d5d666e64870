package series

import (
	"fmt"
	"io"
	"net/http/httptest"
	"runtime"
	"testing"
)

func BenchmarkUpdate(b *testing.B) {
	s, _ := newStore(b, Config{})
	labels := ls("code", "200", "method", "GET", "path", "/api/v1/items")
	must(b, s.Add("http_requests_total", labels, 1, nil))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = s.Add("http_requests_total", labels, 1, nil)
		}
	})
}

func BenchmarkObserveSummary(b *testing.B) {
	s, _ := newStore(b, Config{})
	labels := ls("op", "get")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = s.Observe("op_seconds", labels, Summary, float64(i%1000), 1, nil)
	}
}

func fill100k(tb testing.TB, s *Store) {
	for i := range 100_000 {
		must(tb, s.Add("app_events_total", ls("instance", "host-1", "event", fmt.Sprintf("event_%06d", i)), 1, nil))
	}
}

func BenchmarkScrape100k(b *testing.B) {
	s, _ := newStore(b, Config{})
	fill100k(b, s)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Expose(io.Discard, FormatText); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMemoryPerSeries logs the heap per counter series and checks that
// scrapes do not grow it.
func TestMemoryPerSeries(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	s, _ := newStore(t, Config{})
	fill100k(t, s)
	after := heap()
	per := float64(after-before) / 100_000
	t.Logf("heap per counter series (100k, 2 labels): %.0f bytes", per)
	for range 3 {
		must(t, s.Expose(io.Discard, FormatText))
	}
	scraped := heap()
	for range 10 {
		must(t, s.Expose(io.Discard, FormatText))
	}
	final := heap()
	t.Logf("heap after 3 scrapes %d MB, after 13 %d MB", scraped>>20, final>>20)
	if final > scraped+scraped/10 {
		t.Fatalf("heap grew across scrapes: %d -> %d", scraped, final)
	}
	if per > 400 {
		t.Fatalf("%.0f bytes per series", per)
	}
	runtime.KeepAlive(s)

	// Summaries: bounded by SummarySamples*AgeBuckets per series.
	before = heap()
	ss, _ := newStore(t, Config{})
	for i := range 10_000 {
		l := ls("k", fmt.Sprint(i))
		for j := range 200 {
			must(t, ss.Observe("t_seconds", l, Summary, float64(j), 1, nil))
		}
	}
	after = heap()
	t.Logf("heap per summary series (10k, 200 observations each, one window): %.0f bytes", float64(after-before)/10_000)
	runtime.KeepAlive(ss)
}

// BenchmarkScrape100kGzip is a /metrics request with gzip, as Prometheus
// sends it, through Handler.
func BenchmarkScrape100kGzip(b *testing.B) {
	s, _ := newStore(b, Config{})
	fill100k(b, s)
	h := s.Handler()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
