package logsaver

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/logtest"
	"github.com/podkit/podkit/pkg/logsaver/tail"
)

// BenchmarkShip is the pipeline's cost per line: a backlog of 100-byte
// lines shipped as NDJSON to an HTTP endpoint that only reads the body, or
// to the file sink.
func BenchmarkShip(b *testing.B) {
	for _, sinkKind := range []string{"http", "file"} {
		b.Run(sinkKind, func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, "app.log")
			const lines = 500_000
			w, _ := logtest.NewWriter(logtest.WriterConfig{Path: path, Lines: lines})
			if err := w.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			url := "file://" + filepath.Join(dir, "out")
			if sinkKind == "http" {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body)
					w.WriteHeader(http.StatusNoContent)
				}))
				defer srv.Close()
				url = srv.URL
			}
			b.ResetTimer()
			for i := range b.N {
				s, err := New(Config{Tail: tail.Config{Paths: []string{path}}, StateDir: filepath.Join(dir, "state", string(rune('a'+i%26)), time.Now().Format("150405.000000000")),
					Sinks: []string{url}, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- s.Run(ctx) }()
				for s.pipelines[0].m.records.Load() < lines {
					time.Sleep(time.Millisecond)
				}
				cancel()
				<-done
			}
			b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
