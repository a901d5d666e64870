package metricsadapter

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"

	"github.com/podkit/podkit/pkg/metrics-adapter/series"
)

// The readers' mapping caches share one bound; past it, names still map
// right (resolved per line).
func TestMappingCacheBudget(t *testing.T) {
	a, err := New(Config{StatsdUDPAddr: "127.0.0.1:0", MappingCache: 5, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h1, h2 := a.newStatsdHandler(), a.newStatsdHandler()
	for i := range 20 {
		h1(fmt.Appendf(nil, "one.n%d:1|c", i))
		h2(fmt.Appendf(nil, "two.n%d:2|c", i))
		if n := a.cached.Load(); n > 5 {
			t.Fatalf("%d entries cached, bound 5", n)
		}
	}
	var b bytes.Buffer
	a.store.Expose(&b, series.FormatText)
	for i := range 20 {
		for _, want := range []string{fmt.Sprintf("one_n%d 1\n", i), fmt.Sprintf("two_n%d 2\n", i)} {
			if !bytes.Contains(b.Bytes(), []byte(want)) {
				t.Errorf("missing %q", want)
			}
		}
	}
}
