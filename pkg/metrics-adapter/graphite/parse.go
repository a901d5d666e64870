package graphite

import (
	"bytes"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// Parse splits packet into lines as graphite_exporter's bufio.Scanner does
// (on '\n'; a trailing '\n' ends the last line rather than starting an
// empty one) and parses each. It returns the number of lines. A packet over
// Limits.MaxPacketSize is one ReasonPacketTooLong error and 0 lines.
func (p *Parser) Parse(packet []byte, h Handler) (lines int) {
	if len(packet) > p.lim.MaxPacketSize {
		h.Error(ReasonPacketTooLong, packet[:min(len(packet), p.lim.MaxLineLength)])
		return 0
	}
	for len(packet) > 0 {
		lines++
		i := bytes.IndexByte(packet, '\n')
		if i < 0 {
			p.ParseLine(packet, h)
			return lines
		}
		p.ParseLine(packet[:i], h)
		packet = packet[i+1:]
	}
	return lines
}

// ParseLine parses one line without its '\n'. Like graphite_exporter it
// first trims white space at both ends (strings.TrimSpace: a '\r', tabs,
// Unicode spaces), then wants exactly "path value timestamp" with single
// spaces. A line empty after trimming is ignored (graphite_exporter logs it
// as an invalid part count and counts nothing).
func (p *Parser) ParseLine(line []byte, h Handler) {
	if len(line) > p.lim.MaxLineLength {
		h.Error(ReasonLineTooLong, line[:p.lim.MaxLineLength])
		return
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return
	}
	// strings.Split(line, " ") must give 3 parts: two spaces, no more.
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 < 0 {
		h.Error(ReasonWrongFieldCount, line)
		return
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 < 0 || bytes.IndexByte(rest[sp2+1:], ' ') >= 0 {
		h.Error(ReasonWrongFieldCount, line)
		return
	}
	name, value, ts := line[:sp1], rest[:sp2], rest[sp2+1:]

	// Tags come first, as in graphite_exporter, which counts tag failures
	// even for lines it then drops for a bad value.
	p.labels = p.labels[:0]
	p.scratch = p.scratch[:0]
	tooMany := false
	path := name
	if i := bytes.IndexByte(name, ';'); i >= 0 {
		path = name[:i]
		tooMany = p.tags(name[i+1:], line, h)
	}
	v, err := parseFloat(value)
	if err != nil {
		h.Error(ReasonInvalidValue, line)
		return
	}
	t, err := parseFloat(ts)
	if err != nil {
		h.Error(ReasonInvalidTimestamp, line)
		return
	}
	if len(path) == 0 {
		h.Error(ReasonEmptyPath, line)
		return
	}
	if tooMany {
		h.Error(ReasonTooManyTags, line)
		return
	}
	p.s = Sample{Path: path, Labels: p.labels, Value: v, Timestamp: unixTime(t)}
	h.Sample(&p.s)
}

// tags parses "k=v;k2=v2" into p.labels: each ';'-separated part, empty
// ones included, needs an '=' (graphite_exporter: strings.SplitN(tag, "=",
// 2)); the value may be empty or hold more '='. It reports whether there
// were more than Limits.MaxTags names.
func (p *Parser) tags(list, line []byte, h Handler) (tooMany bool) {
	for list != nil {
		tag := list
		if i := bytes.IndexByte(list, ';'); i >= 0 {
			tag, list = list[:i], list[i+1:]
		} else {
			list = nil
		}
		j := bytes.IndexByte(tag, '=')
		if j < 0 {
			h.Error(ReasonMalformedTag, line)
			continue
		}
		k, v := tag[:j], tag[j+1:]
		if len(k) == 0 || !utf8.Valid(k) {
			h.Error(ReasonInvalidLabelName, line)
			continue
		}
		if !utf8.Valid(v) {
			h.Error(ReasonInvalidLabelValue, line)
			continue
		}
		if needsEscape(k, false) {
			n := len(p.scratch)
			p.scratch = AppendLabelName(p.scratch, k)
			k = p.scratch[n:len(p.scratch):len(p.scratch)]
		}
		if len(k) >= 2 && k[0] == '_' && k[1] == '_' {
			h.Error(ReasonInvalidLabelName, line)
			continue
		}
		if !p.setLabel(k, v) {
			tooMany = true
		}
	}
	return tooMany
}

// setLabel adds or replaces a label (graphite_exporter keeps tags in a map:
// the last value for a name wins); false when there is no room.
func (p *Parser) setLabel(k, v []byte) bool {
	for i := range p.labels {
		if bytes.Equal(p.labels[i].Name, k) {
			p.labels[i].Value = v
			return true
		}
	}
	if len(p.labels) >= p.lim.MaxTags {
		return false
	}
	p.labels = append(p.labels, Label{Name: k, Value: v})
	return true
}

// parseFloat is strconv.ParseFloat without copying b: strconv does not
// keep its argument (its errors hold a copy).
func parseFloat(b []byte) (float64, error) {
	if len(b) == 0 {
		return strconv.ParseFloat("", 64)
	}
	return strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
}
