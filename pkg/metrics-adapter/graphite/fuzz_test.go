package graphite

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

// collector checks the invariants of every sample and error, and records
// them in a form that can be compared.
type collector struct {
	t       *testing.T
	lim     Limits
	samples int
	errors  int
	log     []string
}

func (c *collector) Sample(s *Sample) {
	c.samples++
	t := c.t
	if len(s.Path) == 0 || len(s.Path) > c.lim.MaxLineLength || bytes.ContainsAny(s.Path, "; \n") {
		t.Fatalf("bad path %q", s.Path)
	}
	if len(s.Labels) > c.lim.MaxTags {
		t.Fatalf("%d labels > %d", len(s.Labels), c.lim.MaxTags)
	}
	for i, l := range s.Labels {
		n := string(l.Name)
		if n == "" || n[0] >= '0' && n[0] <= '9' || strings.HasPrefix(n, "__") || needsEscape(l.Name, false) {
			t.Fatalf("bad label name %q", n)
		}
		for _, m := range s.Labels[:i] {
			if string(m.Name) == n {
				t.Fatalf("duplicate label %q", n)
			}
		}
		if !utf8.Valid(l.Value) || bytes.ContainsAny(l.Value, "; \n") {
			t.Fatalf("bad label value %q", l.Value)
		}
	}
	var ls strings.Builder
	for _, l := range s.Labels {
		fmt.Fprintf(&ls, ";%s=%s", l.Name, l.Value)
	}
	c.log = append(c.log, fmt.Sprintf("%q%s %x %d.%d", s.Path, ls.String(), math.Float64bits(s.Value), s.Timestamp.Unix(), s.Timestamp.Nanosecond()))
}

func (c *collector) Error(r Reason, line []byte) {
	c.errors++
	if r == 0 || r >= numReasons {
		c.t.Fatalf("bad reason %d", r)
	}
	if len(line) > c.lim.MaxLineLength {
		c.t.Fatalf("error line of %d bytes", len(line))
	}
	c.log = append(c.log, "!"+r.String())
}

// FuzzParse: no panic; every sample within the limits; at most one sample
// per line and one error per byte; and a packet parses to the same samples
// and errors as its lines parsed one by one.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add([]byte(tc.in), tc.cfg == small)
	}
	f.Add([]byte("a.b;k=v;x 1 1\n\nc 1e3 1.5\r\n;k=v 1 1"), false)
	f.Fuzz(func(t *testing.T, packet []byte, limited bool) {
		cfg := Config{}
		if limited {
			cfg = small
		}
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		whole := &collector{t: t, lim: p.Limits()}
		lines := p.Parse(packet, whole)
		if lines > bytes.Count(packet, []byte("\n"))+1 {
			t.Fatalf("%d lines from %d newlines", lines, bytes.Count(packet, []byte("\n")))
		}
		if whole.samples > lines {
			t.Fatalf("%d samples from %d lines", whole.samples, lines)
		}
		if whole.errors > len(packet)+1 {
			t.Fatalf("%d errors from %d bytes", whole.errors, len(packet))
		}
		if len(packet) > p.Limits().MaxPacketSize {
			return
		}
		split := &collector{t: t, lim: p.Limits()}
		n := 0
		for len(packet) > 0 {
			line, rest, _ := bytes.Cut(packet, []byte("\n"))
			p.ParseLine(line, split)
			packet = rest
			n++
		}
		if n != lines || strings.Join(split.log, "\n") != strings.Join(whole.log, "\n") {
			t.Fatalf("packet: %d lines %q\nlines: %d lines %q", lines, whole.log, n, split.log)
		}
	})
}
