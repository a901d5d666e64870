// Package record is what the parts of podkit logsaver pass each other: a
// log record, a batch of them encoded once as NDJSON, and the Sink contract
// every destination implements. logsaver is the paper's first sidecar
// example (Burns & Oppenheimer 2016, section 4.1): the app writes log files
// to a shared volume, the sidecar ships them to storage without loss.
package record

import (
	"context"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// Record is one log entry: a line (or a joined multi-line entry) of one
// source file.
type Record struct {
	Line   []byte    // without its line ending
	File   string    // the source path
	Offset int64     // byte offset of the line's first byte in File
	Time   time.Time // ingest time
	// Fields are extra top-level JSON members merged in by a format (json,
	// cri, docker): name and raw JSON value. Nil for raw lines.
	Fields []Field
}

// Field is one extra JSON member of a record: Value is valid JSON.
type Field struct {
	Name  string
	Value json.RawMessage
}

// Label is a constant key/value added to every record (--label, the pod's
// Downward-API identity).
type Label struct{ Name, Value string }

// Batch is a run of records from the readers, with their NDJSON encoding
// made once and shared by every sink. Sinks must not modify it.
type Batch struct {
	// Records are filled only for a sink that is a RecordsUser; the others
	// read NDJSON alone, and N says how many records it holds.
	Records []Record
	NDJSON  []byte // one JSON object per record, each ending in '\n'
	N       int
}

// Len is the number of records in b.
func (b *Batch) Len() int { return max(b.N, len(b.Records)) }

// RecordsUser is a Sink that formats Batch.Records itself (syslog) rather
// than sending the NDJSON; only such sinks get Records filled, which spares
// the others a copy of every line kept until the acknowledgement.
type RecordsUser interface {
	UsesRecords() bool
}

// A Sink delivers batches to one destination. Send returns nil only once
// the destination has acknowledged the whole batch (fsynced for files, a
// 2xx for HTTP, a stored object for S3): only then does logsaver move that
// sink's checkpoint. An error means nothing may be assumed delivered; the
// batch will be sent again (at-least-once). Send honours ctx and is not
// called concurrently for one Sink. It keeps nothing of b after it
// returns: logsaver reuses the buffers.
type Sink interface {
	Name() string // for metrics and logs; never contains credentials
	Send(ctx context.Context, b *Batch) error
	Close() error
}

// AppendNDJSON appends r as one JSON object and '\n':
//
//	{"line":"...","file":"...","offset":N,"time":"RFC3339Nano",LABELS...,FIELDS...}
//
// Labels and fields follow in order; a field or label whose name repeats
// an earlier key is skipped, so the object never has duplicate keys. A line
// that is not valid UTF-8 is written with each invalid byte as U+FFFD, as
// encoding/json does. An Encoder does the same faster for many records.
func AppendNDJSON(dst []byte, r *Record, labels []Label) []byte {
	var e Encoder
	e.SetLabels(labels)
	return e.Append(dst, r)
}

// Encoder appends records as AppendNDJSON does, keeping the encoded labels
// and the last record's file and time: a batch's records mostly share
// them, and encoding them once per batch halves the cost of a short line.
// The zero Encoder has no labels.
type Encoder struct {
	labels   []Label
	labelsJS []byte // ,"name":"value"... without duplicates
	file     string
	fileJS   []byte // ,"file":"...","offset":
	t        time.Time
	timeJS   []byte // ,"time":"..."
}

// NewEncoder returns an Encoder adding labels to every record.
func NewEncoder(labels []Label) *Encoder {
	e := &Encoder{}
	e.SetLabels(labels)
	return e
}

// SetLabels sets the labels added to every record.
func (e *Encoder) SetLabels(labels []Label) {
	e.labels = labels
	e.labelsJS = e.labelsJS[:0]
	for i, l := range labels {
		if reserved(l.Name) || labelSeen(labels[:i], l.Name) {
			continue
		}
		e.labelsJS = append(e.labelsJS, ',')
		e.labelsJS = appendString(e.labelsJS, l.Name)
		e.labelsJS = append(e.labelsJS, ':')
		e.labelsJS = appendString(e.labelsJS, l.Value)
	}
}

// Append appends r's JSON object and '\n' to dst.
func (e *Encoder) Append(dst []byte, r *Record) []byte {
	dst = append(dst, `{"line":`...)
	dst = appendString(dst, r.Line)
	if e.fileJS == nil || r.File != e.file {
		e.file = r.File
		e.fileJS = append(appendString(append(e.fileJS[:0], `,"file":`...), r.File), `,"offset":`...)
	}
	dst = append(dst, e.fileJS...)
	dst = strconv.AppendInt(dst, r.Offset, 10)
	if e.timeJS == nil || !r.Time.Equal(e.t) {
		e.t = r.Time
		e.timeJS = append(r.Time.UTC().AppendFormat(append(e.timeJS[:0], `,"time":"`...), time.RFC3339Nano), '"')
	}
	dst = append(dst, e.timeJS...)
	dst = append(dst, e.labelsJS...)
	for i, f := range r.Fields {
		if reserved(f.Name) || labelSeen(e.labels, f.Name) || fieldSeen(r.Fields[:i], f.Name) || !json.Valid(f.Value) {
			continue
		}
		dst = append(dst, ',')
		dst = appendString(dst, f.Name)
		dst = append(dst, ':')
		dst = append(dst, f.Value...)
	}
	return append(dst, '}', '\n')
}

func reserved(name string) bool {
	switch name {
	case "line", "file", "offset", "time":
		return true
	}
	return false
}

func labelSeen(ls []Label, name string) bool {
	for _, l := range ls {
		if l.Name == name {
			return true
		}
	}
	return false
}

func fieldSeen(fs []Field, name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return true
		}
	}
	return false
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string, escaping as encoding/json does
// (without its HTML escaping). Runs of bytes that need no escape are
// copied whole.
func appendString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			if r == utf8.RuneError {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			}
			start = i + size
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
