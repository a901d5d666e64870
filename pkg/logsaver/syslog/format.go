package syslog

import (
	"strconv"
	"unicode/utf8"

	"github.com/podkit/podkit/pkg/logsaver/record"
)

// sdLabels makes labels valid SD-PARAMs: names sanitized by sdName; a
// name repeating file, offset or an earlier label is dropped, as
// record.AppendNDJSON drops duplicate keys.
func sdLabels(labels []record.Label) []record.Label {
	seen := map[string]bool{"file": true, "offset": true}
	var out []record.Label
	for _, l := range labels {
		n := sdName(l.Name)
		if seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, record.Label{Name: n, Value: l.Value})
	}
	return out
}

// sdName maps a label name to an SD-NAME: bytes that may not appear
// become '_', and it is cut to 32 bytes.
func sdName(name string) string {
	b := []byte(name)
	if len(b) > 32 {
		b = b[:32]
	}
	for i, c := range b {
		if c < 33 || c > 126 || c == '=' || c == ']' || c == '"' {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// appendFrame appends r as one octet-counted RFC 5424 message:
//
//	LEN SP <PRI>1 TIMESTAMP HOSTNAME APP-NAME - - [SDID file="…" offset="N" LABELS…] LINE
//
// TIMESTAMP is the ingest time in UTC with microseconds (RFC 5424's
// maximum precision), "-" if unset. LINE is written as is (MSG-ANY: no BOM,
// any octets, newlines included: the frame's length delimits it).
func (s *Sink) appendFrame(dst []byte, r *record.Record) []byte {
	// Format into the tail of dst, then insert the length before it.
	start := len(dst)
	dst = appendMessage(dst, &s.opts, s.labels, r)
	n := len(dst) - start
	var lenbuf [24]byte
	prefix := append(strconv.AppendInt(lenbuf[:0], int64(n), 10), ' ')
	dst = append(dst, prefix...) // grow by len(prefix)
	copy(dst[start+len(prefix):], dst[start:start+n])
	copy(dst[start:], prefix)
	return dst
}

// appendMessage appends r as an RFC 5424 message, unframed.
func appendMessage(dst []byte, o *Options, labels []record.Label, r *record.Record) []byte {
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(o.Facility*8+o.Severity), 10)
	dst = append(dst, ">1 "...)
	if r.Time.IsZero() {
		dst = append(dst, '-')
	} else {
		dst = r.Time.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z")
	}
	dst = append(dst, ' ')
	dst = append(dst, o.Hostname...)
	dst = append(dst, ' ')
	dst = append(dst, o.AppName...)
	dst = append(dst, " - - ["...)
	dst = append(dst, o.SDID...)
	dst = append(dst, ` file="`...)
	dst = appendParamValue(dst, r.File)
	dst = append(dst, `" offset="`...)
	dst = strconv.AppendInt(dst, r.Offset, 10)
	dst = append(dst, '"')
	for _, l := range labels {
		dst = append(dst, ' ')
		dst = append(dst, l.Name...)
		dst = append(dst, `="`...)
		dst = appendParamValue(dst, l.Value)
		dst = append(dst, '"')
	}
	dst = append(dst, ']')
	if len(r.Line) > 0 {
		dst = append(dst, ' ')
		dst = append(dst, r.Line...)
	}
	return dst
}

// appendParamValue escapes '"', '\' and ']' with a backslash, as RFC 5424
// section 6.3.3 requires, and writes invalid UTF-8 as U+FFFD: PARAM-VALUE
// is UTF-8.
func appendParamValue(dst []byte, v string) []byte {
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if c == '"' || c == '\\' || c == ']' {
				dst = append(dst, '\\')
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(v[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, v[i:i+size]...)
		}
		i += size
	}
	return dst
}
