package format

import (
	"fmt"
	"strings"
	"testing"
)

// benchLines returns 1024 distinct lines of 100 bytes (with "\n") in
// format f.
func benchLines(f Format) [][]byte {
	var pre, post string
	switch f {
	case Raw:
		pre, post = "2024-05-01T12:00:00.000Z INFO ", ""
	case JSON:
		pre, post = `{"time":"2024-05-01T12:00:00Z","level":"INFO","msg":"`, `"}`
	case CRI:
		pre, post = "2024-05-01T12:00:00.123456789Z stdout F ", ""
	case Docker:
		pre, post = `{"log":"`, `\n","stream":"stdout","time":"2024-05-01T12:00:00.123456789Z"}`
	}
	lines := make([][]byte, 1024)
	for i := range lines {
		msg := fmt.Sprintf("GET /api/v1/items/%06d 200 user=alice rid=%08x %s", i, i*7919, strings.Repeat("x", 100))
		msg = msg[:99-len(pre)-len(post)]
		lines[i] = []byte(pre + msg + post + "\n")
	}
	return lines
}

func BenchmarkFeed(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"raw", Config{Format: Raw}},
		{"json", Config{Format: JSON}},
		{"cri", Config{Format: CRI}},
		{"docker", Config{Format: Docker}},
		{"raw+multiline", Config{Format: Raw, Multiline: dateStart}},
	} {
		b.Run(c.name, func(b *testing.B) {
			lines := benchLines(c.cfg.Format)
			d, err := New(c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			out := make([]Entry, 0, 1024)
			var off int64
			b.SetBytes(100)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				l := lines[i%len(lines)]
				end := off + int64(len(l))
				out = d.Feed(out[:0], l, off, end)
				off = end
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
