// Package format decodes the lines of one log file into records for podkit
// logsaver, the paper's first sidecar example (Burns & Oppenheimer 2016,
// section 4.1): --format raw|json|cri|docker, the container runtimes'
// partial-line joining, and --multiline-start joining of stack traces. It
// does the job of fluent-bit's cri/docker parsers and multiline filter,
// Vector's multiline (same timeout semantics: time since the last line) and
// filebeat's multiline.max_lines.
//
// A Decoder is stateful and per file. Because a joined record spans several
// source lines, each emitted Entry carries the source byte range it covers,
// and SafeOffset says how far the file may be checkpointed: every byte
// before it belongs to a record already emitted. Records are emitted in
// source order and their ranges tile the input with no gap or overlap, so a
// restart from SafeOffset neither loses nor repeats anything this Decoder
// emitted and the caller had acked.
package format

import (
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/podkit/podkit/pkg/logsaver/record"
)

// Format says how a source line is decoded.
type Format uint8

// The formats of --format.
const (
	// Raw: the line as is (without its line ending).
	Raw Format = iota
	// JSON: a JSON object line's members become record fields. A string
	// member "msg" or "message" (the first of them) becomes the record's
	// line and is not repeated as a field, so the message is not stored
	// twice; without one, the line stays the original JSON text. Members
	// named line, file, offset or time, which the record itself uses, are
	// renamed log_line, log_file, log_offset and log_time. A line that is
	// not a JSON object is kept raw and counted.
	JSON
	// CRI: the containerd / CRI-O format "TIME STREAM TAG MESSAGE", TAG P
	// (partial) or F (full); P pieces are joined up to the F line. Fields:
	// log_time (the runtime's timestamp), stream.
	CRI
	// Docker: the json-file driver format {"log":"msg\n","stream":...,
	// "time":...}; a log value without its trailing \n is a partial joined
	// with the next. Members other than log become fields, as for JSON
	// (so time becomes log_time).
	Docker
)

var formatNames = [...]string{"raw", "json", "cri", "docker"}

// String returns the --format spelling.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", f)
}

// ErrFormat is returned by ParseFormat for an unknown name.
var ErrFormat = errors.New("unknown format (want raw, json, cri or docker)")

// ParseFormat parses a --format value.
func ParseFormat(s string) (Format, error) {
	for i, n := range formatNames {
		if s == n {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("%w: %q", ErrFormat, s)
}

// Defaults for the zero Config fields.
const (
	DefaultTimeout  = time.Second
	DefaultMaxBytes = 256 << 10
	DefaultMaxLines = 500 // filebeat's multiline.max_lines
)

// Config configures a Decoder. The zero value decodes raw lines.
type Config struct {
	Format Format
	File   string // copied into every Record.File
	// Multiline, if set, joins lines: a line it matches (or any line when
	// nothing is pending) begins an entry; the following lines it does not
	// match are appended, joined with '\n' (--multiline-start). Safe to
	// share between Decoders.
	Multiline *regexp.Regexp
	// Timeout is how long a pending entry (a multiline entry or a partial
	// runtime line) waits for its next line before Flush emits it
	// (--multiline-timeout). 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxBytes bounds one record's message. A longer line, or joined
	// partial line, is cut there (at a UTF-8 boundary) and counted; a
	// multiline entry that would grow past it is emitted and the line
	// begins the next entry, so multiline joining drops nothing. 0 means
	// DefaultMaxBytes.
	MaxBytes int
	// MaxLines bounds the source lines in one multiline entry, as
	// MaxBytes does. 0 means DefaultMaxLines.
	MaxLines int
	// Start is the offset of the first line to be fed (the checkpoint);
	// SafeOffset returns it until a line has been consumed.
	Start int64
	// Now is the ingest clock, read once per Feed for Record.Time and the
	// timeout. Nil means time.Now.
	Now func() time.Time
}

// Entry is one decoded record and the end of the source range it covers:
// [Record.Offset, End) holds every source line consumed into it.
type Entry struct {
	record.Record
	End int64
}

// Decoder decodes the lines of one file in order. It is not safe for
// concurrent use and starts no goroutine: the caller drives timeouts with
// Flush (Deadline says when).
type Decoder struct {
	format   Format
	file     string
	re       *regexp.Regexp
	timeout  time.Duration
	max      int
	maxLines int
	now      func() time.Time

	next  int64 // end of the last line fed: where the next line should start
	part  pending
	multi pending
	cur   entry
	stats Stats

	// Scratch reused by decode: the current line's fields, unescaped
	// message and key, the quoted CRI timestamp.
	fields  []rawField
	msgBuf  []byte
	keyBuf  []byte
	timeBuf []byte
	names   map[string]string

	slab  []byte         // Record.Line and Field.Value bytes are cut from here
	fslab []record.Field // Record.Fields are cut from here
}

// New validates cfg and returns a Decoder. It does no I/O.
func New(cfg Config) (*Decoder, error) {
	switch {
	case int(cfg.Format) >= len(formatNames):
		return nil, fmt.Errorf("format: Format: %w: %d", ErrFormat, cfg.Format)
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("format: Timeout: must be >= 0 (got %v)", cfg.Timeout)
	case cfg.MaxBytes < 0:
		return nil, fmt.Errorf("format: MaxBytes: must be >= 0 (got %d)", cfg.MaxBytes)
	case cfg.MaxLines < 0:
		return nil, fmt.Errorf("format: MaxLines: must be >= 0 (got %d)", cfg.MaxLines)
	case cfg.Start < 0:
		return nil, fmt.Errorf("format: Start: must be >= 0 (got %d)", cfg.Start)
	}
	d := &Decoder{
		format:   cfg.Format,
		file:     cfg.File,
		re:       cfg.Multiline,
		timeout:  orDefault(cfg.Timeout, DefaultTimeout),
		max:      orDefault(cfg.MaxBytes, DefaultMaxBytes),
		maxLines: orDefault(cfg.MaxLines, DefaultMaxLines),
		now:      cfg.Now,
		next:     cfg.Start,
		names:    make(map[string]string),
	}
	if d.now == nil {
		d.now = time.Now
	}
	return d, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Feed decodes the source line at [offset, end) and appends the records it
// completes (zero, one, or two when it also ends a pending entry) to dst.
// line may end in "\n" or "\r\n", which is not part of the message; Feed
// does not keep line. Lines must be fed in file order: a line that does
// not start where the previous one ended (a gap, or a truncated file read
// again) first ends every pending entry, as FlushAll does.
func (d *Decoder) Feed(dst []Entry, line []byte, offset, end int64) []Entry {
	d.stats.Lines++
	if offset != d.next {
		dst = d.FlushAll(dst)
	}
	d.next = end
	now := d.now()
	e := &d.cur
	*e = entry{offset: offset, end: end, first: now, last: now, lines: 1}
	partial := d.decode(e, trimEOL(line))

	pt := &d.part
	if pt.active && e.stream != pt.stream {
		// One pending partial at a time keeps records in source order,
		// so SafeOffset never passes an emitted record's end. A line of
		// the other stream (or a malformed one) ends the partial early;
		// it is emitted as is and nothing is lost.
		if e.stream != streamRaw {
			d.stats.Interleaved++
		}
		dst = d.endPartial(dst)
	}
	switch {
	case pt.active:
		pt.add(false, e.msg, d.max)
		pt.end, pt.last = end, now
		pt.lines++
		if !partial {
			dst = d.endPartial(dst)
		}
	case partial:
		pt.start(e, d.max)
	default:
		d.finish(e)
		dst = d.logical(dst, e)
	}
	return dst
}

// Flush emits the pending entries that have waited Timeout or longer for
// their next line, as of now.
func (d *Decoder) Flush(dst []Entry, now time.Time) []Entry {
	if d.part.active && !now.Before(d.part.last.Add(d.timeout)) {
		d.stats.TimedOut++
		dst = d.endPartial(dst)
	}
	if d.multi.active && !now.Before(d.multi.last.Add(d.timeout)) {
		d.stats.TimedOut++
		dst = d.emitPending(dst, &d.multi)
	}
	return dst
}

// FlushAll emits every pending entry: at the end of a file that is let go
// (rotated away and read to its end), or before shutdown.
func (d *Decoder) FlushAll(dst []Entry) []Entry {
	if d.part.active {
		dst = d.endPartial(dst)
	}
	if d.multi.active {
		dst = d.emitPending(dst, &d.multi)
	}
	return dst
}

// Deadline returns when Flush next has something to emit, and false when
// nothing is pending.
func (d *Decoder) Deadline() (time.Time, bool) {
	var t time.Time
	ok := false
	for _, p := range [2]*pending{&d.multi, &d.part} {
		if p.active && (!ok || p.last.Add(d.timeout).Before(t)) {
			t, ok = p.last.Add(d.timeout), true
		}
	}
	return t, ok
}

// Pending returns how many source lines and message bytes are held in
// entries not yet emitted.
func (d *Decoder) Pending() (lines, bytes int) {
	for _, p := range [2]*pending{&d.multi, &d.part} {
		if p.active {
			lines += p.lines
			bytes += len(p.msg)
		}
	}
	return lines, bytes
}

// SafeOffset returns the lowest source offset not yet emitted: every byte
// before it is covered by an emitted Entry, none after it is. It never
// decreases while lines are fed in order. The caller checkpoints a file at
// the SafeOffset read after Feed/Flush once the records appended by then
// are acked.
func (d *Decoder) SafeOffset() int64 {
	switch {
	case d.multi.active:
		return d.multi.offset
	case d.part.active:
		return d.part.offset
	}
	return d.next
}

// Stats returns the counters so far.
func (d *Decoder) Stats() Stats { return d.stats }

// trimEOL strips a trailing "\n", then a trailing "\r": the line ending.
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// finish strips the "\r" of a runtime line that the application ended with
// "\r\n" (raw and json lines had theirs stripped by trimEOL).
func (d *Decoder) finish(e *entry) {
	if (d.format == CRI || d.format == Docker) && e.cut == 0 && e.stream != streamRaw {
		if n := len(e.msg); n > 0 && e.msg[n-1] == '\r' {
			e.msg = e.msg[:n-1]
		}
	}
}

// endPartial passes the joined partial line on to the multiline stage.
func (d *Decoder) endPartial(dst []Entry) []Entry {
	pt := &d.part
	pt.active = false
	d.finish(&pt.entry)
	return d.logical(dst, &pt.entry)
}

// logical takes one logical line (a whole source line, or joined partials)
// through multiline joining.
func (d *Decoder) logical(dst []Entry, l *entry) []Entry {
	if d.re == nil {
		return d.emit(dst, l)
	}
	m := &d.multi
	begins := d.re.Match(l.msg)
	if m.active {
		if !begins && sameStream(l.stream, m.stream) {
			if m.lines+l.lines <= d.maxLines && len(m.msg)+1+len(l.msg) <= d.max {
				m.add(true, l.msg, d.max)
				m.end, m.last = l.end, l.last
				m.lines += l.lines
				return dst
			}
			d.stats.Splits++
		}
		dst = d.emitPending(dst, m)
	}
	m.start(l, d.max)
	return dst
}

// sameStream reports whether lines of streams a and b may be joined: not
// stdout with stderr (a malformed or raw line joins either).
func sameStream(a, b uint8) bool {
	return a == b || a == streamNone || b == streamNone || a == streamRaw || b == streamRaw
}

func (d *Decoder) emitPending(dst []Entry, p *pending) []Entry {
	p.active = false
	return d.emit(dst, &p.entry)
}

// emit copies e into a new Entry, cutting its message at MaxBytes.
func (d *Decoder) emit(dst []Entry, e *entry) []Entry {
	msg, cut := e.msg, e.cut
	if len(msg) > d.max {
		k := cutPoint(msg, d.max)
		cut += len(msg) - k
		msg = msg[:k]
	}
	if cut > 0 {
		d.stats.Truncated++
		d.stats.TruncatedBytes += uint64(cut)
	}
	if e.lines > 1 {
		d.stats.Joined++
	}
	d.stats.Records++
	var fs []record.Field
	if len(e.fields) > 0 {
		fs = d.allocFields(len(e.fields))
		for i, f := range e.fields {
			fs[i] = record.Field{Name: f.name, Value: d.copyBytes(f.value)}
		}
	}
	return append(dst, Entry{
		Record: record.Record{Line: d.copyBytes(msg), File: d.file, Offset: e.offset, Time: e.first, Fields: fs},
		End:    e.end,
	})
}

// cutPoint returns n, or less so that msg[:n] does not end inside a UTF-8
// sequence.
func cutPoint(msg []byte, n int) int {
	for k := n; k > n-utf8.UTFMax && k > 0; k-- {
		if utf8.RuneStart(msg[k]) {
			if r, size := utf8.DecodeRune(msg[k:]); r != utf8.RuneError || size > 1 {
				return k // a valid rune begins at k
			}
			return n // invalid bytes: any cut is as good
		}
	}
	return n
}

// Records' bytes and fields are cut from shared slabs, so a record costs
// no allocation of its own; a slab is freed once all its records are.
const (
	slabBytes  = 32 << 10
	slabFields = 256
)

func (d *Decoder) copyBytes(b []byte) []byte {
	n := len(b)
	if n > slabBytes/4 {
		c := make([]byte, n)
		copy(c, b)
		return c
	}
	if cap(d.slab)-len(d.slab) < n {
		d.slab = make([]byte, 0, slabBytes)
	}
	s := len(d.slab)
	d.slab = append(d.slab, b...)
	return d.slab[s:len(d.slab):len(d.slab)]
}

func (d *Decoder) allocFields(n int) []record.Field {
	if n > slabFields/4 {
		return make([]record.Field, n)
	}
	if cap(d.fslab)-len(d.fslab) < n {
		d.fslab = make([]record.Field, 0, slabFields)
	}
	s := len(d.fslab)
	d.fslab = d.fslab[:s+n]
	return d.fslab[s : s+n : s+n]
}
