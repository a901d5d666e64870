package mapping

import (
	"testing"
	"unicode/utf8"
)

func FuzzParseConfig(f *testing.F) {
	for _, tc := range configCases {
		f.Add([]byte(tc.config))
	}
	for _, tc := range sideBySide {
		f.Add([]byte(tc.config))
	}
	f.Add([]byte(matchConfig))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			if m != nil {
				t.Fatal("Parse returned a Mapper and an error")
			}
			return
		}
		r := m.Match("a.b.c", Counter)
		if !r.Drop() && !ValidName(r.Name) {
			t.Fatalf("Match gave invalid name %q", r.Name)
		}
	})
}

func FuzzMatch(f *testing.F) {
	m, err := Parse([]byte(matchConfig + `
- match: '(.*)'
  match_type: regex
  name: "any_$1"
  labels: {all: "$0"}
`))
	if err != nil {
		f.Fatal(err)
	}
	for _, tc := range matchCases {
		f.Add(tc.name, uint8(tc.typ.index()))
	}
	for _, tc := range sideBySide {
		for _, n := range tc.names {
			f.Add(n, uint8(0))
		}
	}
	types := []MetricType{Counter, Gauge, Observer}
	f.Fuzz(func(t *testing.T, name string, typ uint8) {
		if !utf8.ValidString(name) {
			// statsd_exporter rejects such lines; EscapeName still copes.
			_ = EscapeName(name)
		}
		r := m.Match(name, types[int(typ)%len(types)])
		if !r.Drop() && !ValidName(r.Name) {
			t.Fatalf("Match(%q) gave invalid name %q", name, r.Name)
		}
	})
}
