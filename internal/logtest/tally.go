package logtest

import (
	"bytes"
	"fmt"
	"sync"
)

// Tally counts the numbered lines a sink delivered, per source.
type Tally struct {
	mu      sync.Mutex
	seen    map[string]map[int64]int // source -> seq -> times seen
	Foreign int64                    // texts that are not a numbered line
}

// NewTally returns an empty Tally.
func NewTally() *Tally { return &Tally{seen: map[string]map[int64]int{}} }

// Add records one delivered line (with or without its '\n').
func (t *Tally) Add(line []byte) {
	src, seq, ok := Parse(line)
	t.mu.Lock()
	defer t.mu.Unlock()
	if !ok {
		t.Foreign++
		return
	}
	m := t.seen[src]
	if m == nil {
		m = map[int64]int{}
		t.seen[src] = m
	}
	m[seq]++
}

// Parse reads a line written by Line.
func Parse(line []byte) (src string, seq int64, ok bool) {
	rest, found := bytes.CutPrefix(line, []byte("seq="))
	if !found || len(rest) < 12 {
		return "", 0, false
	}
	for _, c := range rest[:12] {
		if c < '0' || c > '9' {
			return "", 0, false
		}
		seq = seq*10 + int64(c-'0')
	}
	rest, found = bytes.CutPrefix(rest[12:], []byte(" src="))
	if !found {
		return "", 0, false
	}
	name, _, found := bytes.Cut(rest, []byte(" "))
	if !found {
		return "", 0, false
	}
	return string(name), seq, true
}

// Report is what arrived of sequence numbers first..last of one source.
type Report struct {
	Source           string
	Expected, Unique int64
	Missing          int64 // expected and never seen
	Duplicates       int64 // deliveries beyond the first
	FirstMissing     int64 // 0: none
	Unexpected       int64 // seen but outside first..last
}

// Lossless reports whether every expected line arrived at least once.
func (r Report) Lossless() bool { return r.Missing == 0 }

func (r Report) String() string {
	return fmt.Sprintf("%s: %d/%d lines, %d missing (first %d), %d duplicates, %d unexpected",
		r.Source, r.Unique, r.Expected, r.Missing, r.FirstMissing, r.Duplicates, r.Unexpected)
}

// Check reports on source's lines first..last.
func (t *Tally) Check(source string, first, last int64) Report {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := Report{Source: source, Expected: last - first + 1}
	m := t.seen[source]
	for seq, n := range m {
		if seq < first || seq > last {
			r.Unexpected++
			continue
		}
		r.Unique++
		r.Duplicates += int64(n - 1)
	}
	r.Missing = r.Expected - r.Unique
	if r.Missing > 0 {
		for s := first; s <= last; s++ {
			if m[s] == 0 {
				r.FirstMissing = s
				break
			}
		}
	}
	return r
}

// Count is the number of distinct lines of source seen so far.
func (t *Tally) Count(source string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.seen[source])
}
