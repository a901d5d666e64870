package format

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestOffsetProperty feeds random CRI files (partials, both streams,
// malformed lines, stack traces) with random flushes, and checks after
// every call what run.check checks: emitted entries tile the input in
// order (no byte range twice, none skipped) and every emitted end is <=
// any later SafeOffset. It also checks that no message byte is lost.
func TestOffsetProperty(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 1))
		cfg := Config{Format: CRI, Start: int64(rng.IntN(1000))}
		if rng.IntN(2) == 0 {
			cfg.Multiline = dateStart
		}
		r := newRun(t, cfg)
		var want strings.Builder // every message byte, in order
		for range 200 {
			var line, msg string
			stream := [2]string{"stdout", "stderr"}[rng.IntN(2)]
			if rng.IntN(4) == 0 {
				stream = "stdout" // mostly one stream, so pieces do join
			}
			switch rng.IntN(10) {
			case 0:
				msg = "garbage"
				line = msg
			case 1, 2:
				msg = fmt.Sprintf("2024-05-01 %d start", rng.IntN(100))
				line = "2024-05-01T00:00:00Z " + stream + " F " + msg
			case 3, 4, 5:
				msg = fmt.Sprintf("piece-%d ", rng.IntN(100))
				line = "2024-05-01T00:00:00Z " + stream + " P " + msg
			default:
				msg = fmt.Sprintf("\tat x%d", rng.IntN(100))
				line = "2024-05-01T00:00:00Z " + stream + " F " + msg
			}
			want.WriteString(msg)
			r.feed(line)
			if rng.IntN(5) == 0 {
				r.flush(time.Duration(rng.IntN(1500)) * time.Millisecond)
			}
		}
		r.flushAll()
		var got strings.Builder
		for _, e := range r.out {
			got.WriteString(strings.ReplaceAll(string(e.Line), "\n", ""))
		}
		if got.String() != want.String() {
			t.Fatalf("seed %d: message bytes lost or reordered", seed)
		}
	}
}
