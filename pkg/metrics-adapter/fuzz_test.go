package metricsadapter

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/podkit/podkit/pkg/metrics-adapter/mapping"
	"github.com/podkit/podkit/pkg/metrics-adapter/series"
)

// FuzzPacket feeds arbitrary packets through parsing, mapping and the
// store: nothing panics, every line is counted, and both expositions stay
// valid whatever was stored.
func FuzzPacket(f *testing.F) {
	for _, l := range compareLines {
		f.Add([]byte(l))
	}
	f.Add([]byte("a:1|c\nb:2|g\nc:3|ms|@0.1\n"))
	f.Add([]byte("x.y,k=v:1|c|#a:b"))
	f.Add([]byte("le.x:1|h|#le:3"))
	f.Add([]byte("users:alice|s|#env:x\nusers:7|s"))
	mp, err := mapping.Parse([]byte(compareMapping))
	if err != nil {
		f.Fatal(err)
	}
	a, err := New(Config{StatsdUDPAddr: "127.0.0.1:0", Mapping: mp, MaxSeries: 1000, StatsdSets: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	handle := a.newStatsdHandler()
	f.Fuzz(func(t *testing.T, packet []byte) {
		before := a.stats.lines[inStatsd].Load()
		handle(packet)
		a.sets.flush()
		if got, want := a.stats.lines[inStatsd].Load()-before, uint64(bytes.Count(packet, []byte("\n"))+1); len(packet) <= 65535 && got != want {
			t.Fatalf("%d lines counted, want %d", got, want)
		}
		for _, f := range []series.Format{series.FormatText, series.FormatOpenMetrics} {
			var b bytes.Buffer
			if err := a.store.Expose(&b, f); err != nil {
				t.Fatal(err)
			}
			if f == series.FormatText {
				p := expfmt.NewTextParser(model.UTF8Validation)
				if _, err := p.TextToMetricFamilies(strings.NewReader(b.String())); err != nil {
					t.Fatalf("invalid exposition after %q: %v\n%s", packet, err, b.String())
				}
			} else if !strings.HasSuffix(b.String(), "# EOF\n") {
				t.Fatalf("OpenMetrics without # EOF after %q", packet)
			}
		}
	})
}
