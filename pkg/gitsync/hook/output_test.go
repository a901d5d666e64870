package hook

import (
	"strings"
	"testing"
)

func TestTailBuffer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string
		want   string
	}{
		{"empty", nil, ""},
		{"fits", []string{"ab", "cd"}, "abcd"},
		{"exactly", []string{"abcdefgh"}, "abcdefgh"},
		{"overflow across writes", []string{"abcde", "fghij"}, "[2 earlier bytes dropped]\ncdefghij"},
		{"one big write", []string{"ab", "0123456789"}, "[4 earlier bytes dropped]\n23456789"},
		{"many small", strings.Split("abcdefghijkl", ""), "[4 earlier bytes dropped]\nefghijkl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &tailBuffer{max: 8}
			for _, w := range tc.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
				if len(b.buf) > b.max || cap(b.buf) > 2*b.max {
					t.Fatalf("holds %d bytes (cap %d), max %d", len(b.buf), cap(b.buf), b.max)
				}
			}
			if got := b.String(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
