package tail

import (
	"strings"
	"testing"
)

func TestBuffer(t *testing.T) {
	var b Buffer
	if got := b.Suffix(); got != "" {
		t.Errorf("empty: Suffix() = %q, want \"\"", got)
	}
	b.Write([]byte("line one\n"))
	b.Write([]byte("  line\ttwo \n"))
	if got, want := b.Suffix(), ": line one line two"; got != want {
		t.Errorf("Suffix() = %q, want %q", got, want)
	}

	// Past the limit only the end stays, in small and in large writes.
	for _, chunk := range []int{7, Limit, 3 * Limit} {
		var b Buffer
		written := 0
		for written < 4*Limit {
			b.Write([]byte(strings.Repeat("x", chunk-1) + "y"))
			written += chunk
		}
		b.Write([]byte("END\xff"))
		s := b.Suffix()
		if !strings.HasPrefix(s, ": …") || !strings.HasSuffix(s, "END?") {
			t.Errorf("chunk %d: Suffix() = %.20q…%q, want \": …\" first and \"END?\" last", chunk, s, s[max(0, len(s)-10):])
		}
		if len(b.b) != Limit {
			t.Errorf("chunk %d: kept %d bytes, want %d", chunk, len(b.b), Limit)
		}
	}
}

func TestBufferEdges(t *testing.T) {
	var b Buffer
	if b.Suffix() != "" {
		t.Errorf("empty: %q", b.Suffix())
	}
	b.Write([]byte("line one\n  line\ttwo \n"))
	if got := b.Suffix(); got != ": line one line two" {
		t.Errorf("suffix %q", got)
	}
	b.Write([]byte(strings.Repeat("z", Limit-5)))
	if got := b.Suffix(); !strings.HasPrefix(got, ": …two zzz") || len(b.b) != Limit {
		t.Errorf("after overflow: %d bytes, suffix %.20q", len(b.b), got)
	}
	var c Buffer
	n, _ := c.Write([]byte(strings.Repeat("a", 3*Limit) + "end"))
	if n != 3*Limit+3 || len(c.b) != Limit || !strings.HasSuffix(c.Suffix(), "aend") || !c.cut {
		t.Errorf("one big write: n %d, kept %d", n, len(c.b))
	}
	// Exactly the limit, in one write: nothing was cut.
	var e Buffer
	e.Write([]byte(strings.Repeat("b", Limit)))
	if got := e.Suffix(); strings.Contains(got, "…") || e.cut {
		t.Errorf("exactly %d bytes marked as cut: %.10q", Limit, got)
	}
	e.Write([]byte("c"))
	if got := e.Suffix(); !strings.HasPrefix(got, ": …b") || !strings.HasSuffix(got, "bc") {
		t.Errorf("one more byte: %.10q…%q", got, got[len(got)-3:])
	}
	var d Buffer
	d.Write([]byte("\xff\xfebad utf-8"))
	if got := d.Suffix(); got != ": ?bad utf-8" {
		t.Errorf("invalid UTF-8: %q", got)
	}
}
