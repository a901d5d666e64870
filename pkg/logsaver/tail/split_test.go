package tail

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

type splitCase struct {
	in       string
	max      int
	truncate bool
	flush    bool
	want     []string
	consumed int
}

var splitCases = []splitCase{
	{in: "", max: 4, want: nil, consumed: 0},
	{in: "a\nb\n", max: 4, want: []string{"a", "b"}, consumed: 4},
	{in: "a\nbc", max: 4, want: []string{"a"}, consumed: 2},
	{in: "a\nbc", max: 4, flush: true, want: []string{"a", "bc"}, consumed: 4},
	{in: "\n\n", max: 4, want: []string{"", ""}, consumed: 2},
	{in: "abcd\n", max: 4, want: []string{"abcd"}, consumed: 5},
	{in: "abcde\n", max: 4, want: []string{"abcd", "e"}, consumed: 6},
	{in: "abcdefghij\nk\n", max: 4, want: []string{"abcd", "efgh", "ij", "k"}, consumed: 13},
	{in: "abcdefghij\nk\n", max: 4, truncate: true, want: []string{"abcd", "k"}, consumed: 13},
	{in: "abcde", max: 4, want: []string{"abcd"}, consumed: 4},
	{in: "abcde", max: 4, truncate: true, want: []string{"abcd"}, consumed: 5},
	{in: "\x00\xff\r\n\xfe", max: 4, flush: true, want: []string{"\x00\xff\r", "\xfe"}, consumed: 5},
}

func TestSplit(t *testing.T) {
	for _, c := range splitCases {
		var got []string
		var st splitState
		n, _ := splitLines([]byte(c.in), c.max, c.truncate, c.flush, &st, func(s, e int) { got = append(got, c.in[s:e]) })
		if !slices.Equal(got, c.want) || n != c.consumed {
			t.Errorf("splitLines(%q, max %d, truncate %v, flush %v) = %q, %d; want %q, %d", c.in, c.max, c.truncate, c.flush, got, n, c.want, c.consumed)
		}
	}
}

// feed splits data the way a cursor does, bufSize bytes at a time,
// flushing at the end.
func feed(data []byte, bufSize, max int, truncate bool) (lines []string, cnt splitCounts) {
	var st splitState
	off := 0
	for {
		end := min(off+bufSize, len(data))
		chunk := data[off:end]
		flush := end == len(data)
		n, c := splitLines(chunk, max, truncate, flush, &st, func(s, e int) { lines = append(lines, string(chunk[s:e])) })
		cnt.split += c.split
		cnt.truncated += c.truncated
		off += n
		if flush && off == len(data) {
			return lines, cnt
		}
		if n == 0 && !flush {
			panic("no progress with a buffer over max")
		}
	}
}

func FuzzSplit(f *testing.F) {
	for _, c := range splitCases {
		f.Add([]byte(c.in), uint8(c.max), c.truncate, uint8(3))
	}
	f.Add(bytes.Repeat([]byte("x"), 100), uint8(7), false, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, max8 uint8, truncate bool, extra uint8) {
		max := int(max8%64) + 1
		bufSize := max + 1 + int(extra%32)
		whole, wc := feed(data, len(data)+max+1, max, truncate)
		chunked, cc := feed(data, bufSize, max, truncate)
		// Chunking never changes the result.
		if !slices.Equal(whole, chunked) || wc != cc {
			t.Fatalf("whole %q (%v) != chunked %q (%v)", whole, wc, chunked, cc)
		}
		for _, l := range whole {
			if len(l) > max || strings.Contains(l, "\n") {
				t.Fatalf("line %q: over %d bytes or holds a newline", l, max)
			}
		}
		// Split mode loses nothing: the lines and cuts rebuild the input.
		if !truncate {
			var nonNL int
			for _, l := range whole {
				nonNL += len(l)
			}
			if want := len(data) - bytes.Count(data, []byte("\n")); nonNL != want {
				t.Fatalf("%d line bytes out, %d in", nonNL, want)
			}
		} else if wc.split != 0 {
			t.Fatalf("truncate mode split %d lines", wc.split)
		}
	})
}
