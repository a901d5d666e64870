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
	Records []Record
	NDJSON  []byte // one JSON object per record, each ending in '\n'
}

// A Sink delivers batches to one destination. Send returns nil only once
// the destination has acknowledged the whole batch (fsynced for files, a
// 2xx for HTTP, a stored object for S3): only then does logsaver move that
// sink's checkpoint. An error means nothing may be assumed delivered; the
// batch will be sent again (at-least-once). Send honours ctx and is not
// called concurrently for one Sink.
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
// encoding/json does.
func AppendNDJSON(dst []byte, r *Record, labels []Label) []byte {
	dst = append(dst, `{"line":`...)
	dst = appendString(dst, r.Line)
	dst = append(dst, `,"file":`...)
	dst = appendString(dst, r.File)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, r.Offset, 10)
	dst = append(dst, `,"time":"`...)
	dst = r.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, '"')
	seen := func(name string, upto int) bool {
		switch name {
		case "line", "file", "offset", "time":
			return true
		}
		for _, l := range labels[:min(upto, len(labels))] {
			if l.Name == name {
				return true
			}
		}
		return false
	}
	for i, l := range labels {
		if seen(l.Name, i) {
			continue
		}
		dst = append(dst, ',')
		dst = appendString(dst, l.Name)
		dst = append(dst, ':')
		dst = appendString(dst, l.Value)
	}
	for i, f := range r.Fields {
		if seen(f.Name, len(labels)) || fieldSeen(r.Fields[:i], f.Name) || !json.Valid(f.Value) {
			continue
		}
		dst = append(dst, ',')
		dst = appendString(dst, f.Name)
		dst = append(dst, ':')
		dst = append(dst, f.Value...)
	}
	return append(dst, '}', '\n')
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
// (without its HTML escaping).
func appendString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c >= 0x20:
				dst = append(dst, c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			dst = append(dst, string(s[i:i+size])...)
		}
		i += size
	}
	return append(dst, '"')
}
