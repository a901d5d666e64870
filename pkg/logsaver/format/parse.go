package format

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// Streams of runtime lines. Partial and multiline joining never mix them.
const (
	streamNone   uint8 = iota // raw and json lines
	streamStdout              // cri and docker
	streamStderr
	streamRaw // a malformed line, kept raw
)

var streamValues = [...][]byte{streamStdout: []byte(`"stdout"`), streamStderr: []byte(`"stderr"`)}

// rawField is a field before it is copied into a record.
type rawField struct {
	name  string
	value []byte // valid JSON
}

// entry is a decoded line, or several joined, before it is emitted. Its
// slices point into the line being fed or a pending's own buffers.
type entry struct {
	msg         []byte
	fields      []rawField
	offset, end int64
	first, last time.Time // ingest time of the first line, of the latest
	lines       int       // source lines consumed
	cut         int       // message bytes dropped
	stream      uint8
}

// pending is an entry waiting for more lines, with buffers of its own.
type pending struct {
	entry
	active bool
	msgBuf []byte
	vals   []byte
	fbuf   []rawField
}

// start copies e into p. The message is kept up to max+UTFMax bytes: the
// few extra let emit cut at a UTF-8 boundary.
func (p *pending) start(e *entry, limit int) {
	n := min(len(e.msg), limit+utf8.UTFMax)
	buf := append(p.msgBuf[:0], e.msg[:n]...)
	vals := p.vals[:0]
	for _, f := range e.fields {
		vals = append(vals, f.value...)
	}
	fs, off := p.fbuf[:0], 0
	for _, f := range e.fields {
		n := len(f.value)
		fs = append(fs, rawField{f.name, vals[off : off+n : off+n]})
		off += n
	}
	p.entry = *e
	p.msg, p.msgBuf, p.vals, p.fbuf, p.fields = buf, buf, vals, fs, fs
	p.cut += len(e.msg) - n
	p.active = true
}

// add appends b (after a '\n' if sep), keeping at most limit+UTFMax
// bytes and counting the rest as cut.
func (p *pending) add(sep bool, b []byte, limit int) {
	room := max(0, limit+utf8.UTFMax-len(p.msg))
	if sep {
		if room == 0 {
			p.cut++
		} else {
			p.msg = append(p.msg, '\n')
			room--
		}
	}
	if len(b) > room {
		p.cut += len(b) - room
		b = b[:room]
	}
	p.msg = append(p.msg, b...)
	p.msgBuf = p.msg
}

// decode parses line per the format into e (msg, fields, stream) and says
// whether it is a partial line. A malformed line is counted and kept raw.
func (d *Decoder) decode(e *entry, line []byte) (partial bool) {
	e.msg = line
	var r Reason
	switch d.format {
	case Raw:
		return false
	case JSON:
		if r = d.decodeJSON(e, line); r == reasonOK {
			return false
		}
	case CRI:
		if partial, r = d.decodeCRI(e, line); r == reasonOK {
			return partial
		}
	case Docker:
		if partial, r = d.decodeDocker(e, line); r == reasonOK {
			return partial
		}
	}
	d.stats.Malformed[r]++
	e.msg, e.fields, e.stream = line, nil, streamRaw
	return false
}

const reasonOK = NumReasons

func (d *Decoder) decodeJSON(e *entry, line []byte) Reason {
	if !json.Valid(line) {
		return ReasonJSONInvalid
	}
	it, ok := newObjIter(line)
	if !ok {
		return ReasonJSONNotObject
	}
	fs := d.fields[:0]
	haveMsg := false
	for {
		k, esc, v, ok := it.next()
		if !ok {
			break
		}
		name := d.name(k, esc)
		if !haveMsg && (name == "msg" || name == "message") && v[0] == '"' {
			e.msg = d.unquote(v)
			haveMsg = true
			continue
		}
		fs = append(fs, rawField{name, v})
	}
	d.fields, e.fields = fs, fs
	return reasonOK
}

// decodeCRI parses "2016-10-06T00:17:09.669794202Z stdout F message".
func (d *Decoder) decodeCRI(e *entry, line []byte) (bool, Reason) {
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(ts) == 0 {
		return false, ReasonCRISyntax
	}
	st, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return false, ReasonCRISyntax
	}
	tag, msg, _ := bytes.Cut(rest, []byte{' '}) // an empty message may lack its space
	if !timeChars(ts) {
		return false, ReasonCRITime
	}
	switch string(st) {
	case "stdout":
		e.stream = streamStdout
	case "stderr":
		e.stream = streamStderr
	default:
		return false, ReasonCRIStream
	}
	// Tags are ':'-separated; the first is P or F (CRI's LogTag).
	if i := bytes.IndexByte(tag, ':'); i >= 0 {
		tag = tag[:i]
	}
	var partial bool
	switch string(tag) {
	case "P":
		partial = true
	case "F":
	default:
		return false, ReasonCRITag
	}
	d.timeBuf = append(append(append(d.timeBuf[:0], '"'), ts...), '"')
	d.fields = append(d.fields[:0],
		rawField{"log_time", d.timeBuf},
		rawField{"stream", streamValues[e.stream]})
	e.msg, e.fields = msg, d.fields
	return partial, reasonOK
}

// timeChars reports whether ts could be an RFC 3339 timestamp, and so is
// safe as a JSON string's content. (Parsing it would cost more than the
// rest of the line; the runtime wrote it.)
func timeChars(ts []byte) bool {
	if len(ts) > 64 {
		return false
	}
	for _, c := range ts {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == ':' || c == '.' || c == '-' || c == '+') {
			return false
		}
	}
	return true
}

// decodeDocker parses {"log":"message\n","stream":"stdout","time":"..."}.
func (d *Decoder) decodeDocker(e *entry, line []byte) (bool, Reason) {
	if !json.Valid(line) {
		return false, ReasonDockerJSON
	}
	it, ok := newObjIter(line)
	if !ok {
		return false, ReasonDockerJSON
	}
	fs := d.fields[:0]
	haveLog := false
	for {
		k, esc, v, ok := it.next()
		if !ok {
			break
		}
		name := d.name(k, esc)
		switch name {
		case "log":
			if v[0] != '"' {
				return false, ReasonDockerLog
			}
			e.msg = d.unquote(v)
			haveLog = true
			continue
		case "stream":
			switch string(v) {
			case `"stdout"`:
				e.stream = streamStdout
			case `"stderr"`:
				e.stream = streamStderr
			default:
				return false, ReasonDockerStream
			}
		}
		fs = append(fs, rawField{name, v})
	}
	if !haveLog {
		return false, ReasonDockerLog
	}
	if e.stream == streamNone {
		e.stream = streamStdout // docker writes stream always; treat a missing one as stdout
	}
	d.fields, e.fields = fs, fs
	n := len(e.msg)
	if n == 0 || e.msg[n-1] != '\n' {
		return true, reasonOK
	}
	e.msg = e.msg[:n-1]
	return false, reasonOK
}

// unquote returns the content of the JSON string v, unescaped into the
// decoder's message buffer if need be.
func (d *Decoder) unquote(v []byte) []byte {
	s := v[1 : len(v)-1]
	if bytes.IndexByte(s, '\\') < 0 {
		return s
	}
	d.msgBuf = appendUnescaped(d.msgBuf[:0], s)
	return d.msgBuf
}

const maxNames = 1024

// name returns the member name for key, renamed if the record reserves it,
// interned so that a file's repeated keys cost no allocation.
func (d *Decoder) name(k []byte, escaped bool) string {
	if escaped {
		d.keyBuf = appendUnescaped(d.keyBuf[:0], k)
		k = d.keyBuf
	}
	switch string(k) {
	case "line":
		return "log_line"
	case "file":
		return "log_file"
	case "offset":
		return "log_offset"
	case "time":
		return "log_time"
	}
	if s, ok := d.names[string(k)]; ok {
		return s
	}
	if len(d.names) >= maxNames {
		clear(d.names)
	}
	s := string(k)
	d.names[s] = s
	return s
}
