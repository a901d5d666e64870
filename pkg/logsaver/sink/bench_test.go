package sink

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchLines is the records per batch in the benchmarks: about 1 MiB of
// 100-byte NDJSON records.
const benchLines = 10000

func reportLines(b *testing.B, batches int) {
	b.ReportMetric(float64(batches*benchLines)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkFileSink measures Send of 1 MiB batches of 100-byte records to
// the file sink: write, fsync, rotation every 64 MiB. allocs/op is per
// batch.
func BenchmarkFileSink(b *testing.B) {
	for _, gz := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "gzip"}[gz], func(b *testing.B) {
			s, err := NewFile(FileConfig{Dir: b.TempDir(), MaxBytes: 64 << 20, Gzip: gz}, Options{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			batch := makeBatch(0, benchLines, 100)
			b.SetBytes(int64(len(batch.NDJSON)))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if err := s.Send(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
				n++
			}
			reportLines(b, n)
		})
	}
}

// BenchmarkHTTPSink measures Send of 1 MiB batches of 100-byte records to
// an httptest server that reads and discards the body.
func BenchmarkHTTPSink(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	for _, q := range []string{"", "?gzip=1"} {
		b.Run("gzip="+map[string]string{"": "0", "?gzip=1": "1"}[q], func(b *testing.B) {
			s, err := Parse(srv.URL+q, Options{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			batch := makeBatch(0, benchLines, 100)
			b.SetBytes(int64(len(batch.NDJSON)))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if err := s.Send(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
				n++
			}
			reportLines(b, n)
		})
	}
}
