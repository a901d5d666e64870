package format

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/record"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// clock is an injectable ingest clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) Advance(d time.Duration) { c.now = c.now.Add(d) }

// run feeds a whole file of lines (each gets its "\n" unless it has one)
// and checks the offset invariants after every call.
type run struct {
	t     testing.TB
	d     *Decoder
	clk   *clock
	out   []Entry
	pos   int64 // where the next line starts
	start int64
}

func newRun(t testing.TB, cfg Config) *run {
	t.Helper()
	clk := &clock{now: t0}
	cfg.Now = clk.Now
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &run{t: t, d: d, clk: clk, pos: cfg.Start, start: cfg.Start}
}

func (r *run) feed(lines ...string) *run {
	r.t.Helper()
	for _, l := range lines {
		if !strings.HasSuffix(l, "\n") {
			l += "\n"
		}
		end := r.pos + int64(len(l))
		r.out = r.d.Feed(r.out, []byte(l), r.pos, end)
		r.pos = end
		r.check()
	}
	return r
}

func (r *run) flush(after time.Duration) *run {
	r.t.Helper()
	r.clk.Advance(after)
	r.out = r.d.Flush(r.out, r.clk.now)
	r.check()
	return r
}

func (r *run) flushAll() *run {
	r.t.Helper()
	r.out = r.d.FlushAll(r.out)
	r.check()
	if got := r.d.SafeOffset(); got != r.pos {
		r.t.Fatalf("after FlushAll: SafeOffset %d, want %d", got, r.pos)
	}
	if l, b := r.d.Pending(); l != 0 || b != 0 {
		r.t.Fatalf("after FlushAll: Pending %d lines %d bytes", l, b)
	}
	return r
}

// check verifies the at-least-once invariants: entries tile the input in
// order from Start (no byte range emitted twice or skipped), SafeOffset is
// the end of the last emitted entry (so every emitted end <= SafeOffset and
// nothing at or past it has been emitted), every record is bounded and
// encodes as valid NDJSON.
func (r *run) check() {
	r.t.Helper()
	next := r.start
	for i, e := range r.out {
		if e.Offset != next || e.End <= e.Offset {
			r.t.Fatalf("entry %d covers [%d,%d), want it to start at %d", i, e.Offset, e.End, next)
		}
		next = e.End
		if len(e.Line) > r.d.max {
			r.t.Fatalf("entry %d: line of %d bytes > MaxBytes %d", i, len(e.Line), r.d.max)
		}
	}
	if got := r.d.SafeOffset(); got != next {
		r.t.Fatalf("SafeOffset %d, want %d (end of last emitted entry)", got, next)
	}
	if next > r.pos {
		r.t.Fatalf("emitted up to %d, past the input's %d", next, r.pos)
	}
	if _, b := r.d.Pending(); b > 2*(r.d.max+4) { // a partial and a multiline entry
		r.t.Fatalf("pending %d bytes > MaxBytes %d", b, r.d.max)
	}
	if n := len(r.out); n > 0 {
		nd := record.AppendNDJSON(nil, &r.out[n-1].Record, nil)
		if !json.Valid(nd) {
			r.t.Fatalf("invalid NDJSON: %s", nd)
		}
	}
}

// lines returns the records' lines.
func (r *run) lines() []string {
	var s []string
	for _, e := range r.out {
		s = append(s, string(e.Line))
	}
	return s
}

// fields returns a record's fields as "name=value" strings.
func fields(e Entry) []string {
	var s []string
	for _, f := range e.Fields {
		s = append(s, fmt.Sprintf("%s=%s", f.Name, f.Value))
	}
	return s
}

func equal(t testing.TB, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}
