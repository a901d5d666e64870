package tail

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/logtest"
)

// BenchmarkRead reads a 100 MB file of 100-byte lines through one cursor.
func BenchmarkRead(b *testing.B) {
	const lines = 1_000_000
	p := filepath.Join(b.TempDir(), "big.log")
	var data []byte
	for i := range int64(lines) {
		data = logtest.Line(data, "bench", i+1, 100)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		tl, _ := New(Config{Paths: []string{p}, NoInotify: true, PollInterval: time.Hour})
		c, _ := tl.Cursor("s", nil)
		ctx, cancel := context.WithCancel(b.Context())
		done := make(chan struct{})
		go func() { tl.Run(ctx); close(done) }()
		var ch Chunk
		n := 0
		for n < lines {
			if err := c.Read(ctx, &ch); err != nil {
				b.Fatal(err)
			}
			n += len(ch.Records)
			c.Ack(ch.File, ch.End)
		}
		cancel()
		<-done
	}
	b.ReportMetric(float64(lines)*float64(b.N)/time.Since(start).Seconds(), "lines/s")
}
