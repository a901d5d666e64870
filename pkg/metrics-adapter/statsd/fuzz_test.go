package statsd

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// checker asserts the invariants every event must hold.
type checker struct {
	t      *testing.T
	lim    Limits
	events int
	errors int
}

func (c *checker) Event(e *Event) {
	c.events++
	t := c.t
	if len(e.Name) == 0 || len(e.Name) > c.lim.MaxLineLength || !utf8.Valid(e.Name) {
		t.Fatalf("bad name %q", e.Name)
	}
	if e.Type < TypeCounter || e.Type > TypeSet {
		t.Fatalf("bad type %d", e.Type)
	}
	if e.Repeat < 1 || e.Repeat > c.lim.MaxRepeat || (!e.Type.Observer() && e.Repeat != 1) {
		t.Fatalf("bad repeat %d for %v", e.Repeat, e.Type)
	}
	if e.Type == TypeCounter && e.Value < 0 {
		t.Fatalf("negative counter %v", e.Value)
	}
	if len(e.Labels) > c.lim.MaxTags {
		t.Fatalf("%d labels > %d", len(e.Labels), c.lim.MaxTags)
	}
	for i, l := range e.Labels {
		n := string(l.Name)
		if n == "" || n[0] >= '0' && n[0] <= '9' || strings.HasPrefix(n, "__") || len(n) > c.lim.MaxLineLength+1 {
			t.Fatalf("bad label name %q in %q", n, e.Labels)
		}
		for j := 0; j < len(n); j++ {
			if !validNameByte(n[j]) {
				t.Fatalf("bad label name %q", n)
			}
		}
		// No map here: it would make coverage vary between runs.
		for _, m := range e.Labels[:i] {
			if string(m.Name) == n {
				t.Fatalf("duplicate label %q", n)
			}
		}
		if len(l.Value) == 0 || !utf8.Valid(l.Value) {
			t.Fatalf("bad label value %q", l.Value)
		}
	}
}

func (c *checker) Error(r Reason, line []byte) {
	c.errors++
	if r == 0 || r >= numReasons {
		c.t.Fatalf("bad reason %d", r)
	}
	if len(line) > c.lim.MaxLineLength {
		c.t.Fatalf("error line of %d bytes", len(line))
	}
}

// FuzzParse: no panic, every event within the limits, and output bounded by
// the input: each event or error needs at least one byte of it.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add([]byte(tc.in), uint8(tc.cfg.DisabledTags))
	}
	f.Add([]byte("a:1|c\nb,k=v:2|g\nc:1:2|ms|@0.5|#x:y|c:id|T1"), uint8(0x10))
	f.Fuzz(func(t *testing.T, packet []byte, flags uint8) {
		cfg := Config{DisabledTags: Dialect(flags) & AllDialects, Sets: flags&0x20 != 0}
		if flags&0x10 != 0 {
			cfg.Limits = Limits{MaxPacketSize: 512, MaxLineLength: 64, MaxTags: 3, MaxRepeat: 5}
		}
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c := &checker{t: t, lim: p.Limits()}
		lines := p.Parse(packet, c)
		if lines > len(packet)+1 {
			t.Fatalf("%d lines from %d bytes", lines, len(packet))
		}
		if c.events+c.errors > len(packet)+1 {
			t.Fatalf("%d events and %d errors from %d bytes", c.events, c.errors, len(packet))
		}
	})
}
