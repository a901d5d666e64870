package series

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// FuzzExpose stores label values and names as given and checks that the
// text exposition parses back (expfmt) to the same labels, and that invalid
// input is rejected rather than breaking the scrape.
func FuzzExpose(f *testing.F) {
	for _, s := range []struct{ n1, v1, n2, v2 string }{
		{"a", "b", "c", "d"},
		{"a", "\x00\x01\x02", "b", "\\\n\""},
		{"a", "", "b", "ä\u2028"},
		{"le", "1", "__x", "y"},
		{"a", "\xff", "a", "a"},
	} {
		f.Add(s.n1, s.v1, s.n2, s.v2, 1.5)
	}
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string, v float64) {
		s, _ := newStore(t, Config{})
		labels := []Label{{n1, v1}, {n2, v2}}
		err := s.Set("m", labels, v, nil)
		valid := n1 != n2 && utf8.ValidString(v1) && utf8.ValidString(v2) && validLabels([]Label{{n1, ""}}) && validLabels([]Label{{n2, ""}})
		if (err == nil) != valid {
			t.Fatalf("err %v, valid %v", err, valid)
		}
		for _, f := range []Format{FormatText, FormatOpenMetrics} {
			var b bytes.Buffer
			if err := s.Expose(&b, f); err != nil {
				t.Fatal(err)
			}
			if f != FormatText {
				continue
			}
			p := expfmt.NewTextParser(model.LegacyValidation)
			mfs, err := p.TextToMetricFamilies(&b)
			if err != nil {
				t.Fatalf("parse: %v\n%q", err, b.String())
			}
			if err != nil || !valid {
				continue
			}
			got := map[string]string{}
			for _, lp := range mfs["m"].Metric[0].Label {
				got[lp.GetName()] = lp.GetValue()
			}
			if got[n1] != v1 || got[n2] != v2 || len(got) != 2 {
				t.Fatalf("labels %q, want %q", got, labels)
			}
		}
	})
}
