package statsd

import (
	"bytes"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// Parse splits packet on '\n' and parses each line, like statsd_exporter's
// UDP and unixgram listeners (a '\r' is kept, so "a:1|c\r" has type "c\r";
// a TCP reader strips "\r\n" itself, as bufio.Reader.ReadLine does there).
// It returns the number of lines, counted as statsd_exporter_lines_total
// counts them (a trailing '\n' makes one more, empty, line). A packet over
// Limits.MaxPacketSize is one ReasonPacketTooLong error and 0 lines.
func (p *Parser) Parse(packet []byte, h Handler) (lines int) {
	if len(packet) > p.lim.MaxPacketSize {
		h.Error(ReasonPacketTooLong, packet[:min(len(packet), p.lim.MaxLineLength)])
		return 0
	}
	for {
		lines++
		i := bytes.IndexByte(packet, '\n')
		if i < 0 {
			p.ParseLine(packet, h)
			return lines
		}
		p.ParseLine(packet[:i], h)
		packet = packet[i+1:]
	}
}

// ParseLine parses one line without its line ending. An empty line is
// ignored, as in statsd_exporter.
func (p *Parser) ParseLine(line []byte, h Handler) {
	if len(line) == 0 {
		return
	}
	if len(line) > p.lim.MaxLineLength {
		h.Error(ReasonLineTooLong, line[:p.lim.MaxLineLength])
		return
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !utf8.Valid(line) {
		h.Error(ReasonMalformedLine, line)
		return
	}
	p.labels = p.labels[:0]
	p.scratch = p.scratch[:0]
	p.tooMany = false
	name := p.nameAndTags(line[:colon], line, h)
	rest := line[colon+1:]
	dog := bytes.Contains(rest, []byte("|#"))
	// statsd_exporter checks "|#" whether or not DogStatsD tags are parsed.
	if dog && len(p.labels) > 0 {
		h.Error(ReasonMixedTaggingStyles, line)
		return
	}
	pipe := bytes.IndexByte(rest, '|')
	if pipe < 0 {
		h.Error(ReasonNotEnoughParts, line)
		return
	}
	if len(name) == 0 {
		h.Error(ReasonEmptyName, line)
		return
	}
	if p.tooMany {
		h.Error(ReasonTooManyTags, line)
		return
	}
	values, tail := rest[:pipe], rest[pipe+1:]

	// DogStatsD extended aggregation: "a:1:2:3|ms|@0.5" is three samples
	// sharing everything after the first '|'.
	if bytes.IndexByte(values, ':') >= 0 {
		typ := tail
		if i := bytes.IndexByte(typ, '|'); i >= 0 {
			typ = typ[:i]
		}
		if string(typ) != "ms" && string(typ) != "h" && string(typ) != "d" {
			h.Error(ReasonInvalidExtendedAggregateType, line)
			return
		}
		// The shared suffix is parsed once, not once per value as
		// statsd_exporter does (quadratic in the line length).
		s := newSuffix(tail)
		for {
			i := bytes.IndexByte(values, ':')
			if i < 0 {
				p.sample(name, values, &s, line, h)
				return
			}
			p.sample(name, values[:i], &s, line, h)
			values = values[i+1:]
		}
	}
	if dog {
		// Tags disable multi-metric lines: ':' may be in a tag value.
		s := newSuffix(tail)
		p.sample(name, values, &s, line, h)
		return
	}
	// Multi-metric: "a:1|c:2|g". No sample can carry tags or a container
	// ID here (both need "|#" or a ':'), so labels are the name's.
	for {
		seg := rest
		i := bytes.IndexByte(rest, ':')
		if i >= 0 {
			seg, rest = rest[:i], rest[i+1:]
		}
		if pipe := bytes.IndexByte(seg, '|'); pipe < 0 {
			h.Error(ReasonMalformedComponent, line)
		} else {
			s := newSuffix(seg[pipe+1:])
			p.sample(name, seg[:pipe], &s, line, h)
		}
		if i < 0 {
			return
		}
	}
}

// suffix is what follows a value's first '|': the type and up to four
// more parts (sample rate, tags, container ID, timestamp). Its parts are
// parsed by the first sample that gets that far and replayed for the next
// ones, which share it.
type suffix struct {
	typ, extra   []byte
	tooManyParts bool // > 6 parts in all: reported before the value
	emptyPart    bool // reported after the value

	parsed   bool
	rateErrs int        // "@x" that did not parse: reported, sample kept
	drop     Reason     // part that drops the sample
	divs     [4]float64 // counter sample rates, applied in order
	ndivs    int
	repeat   int
}

func newSuffix(tail []byte) suffix {
	s := suffix{typ: tail, repeat: 1}
	if i := bytes.IndexByte(tail, '|'); i >= 0 {
		s.typ, s.extra = tail[:i], tail[i+1:]
		e := s.extra
		s.emptyPart = len(e) == 0 || e[0] == '|' || e[len(e)-1] == '|' || bytes.Contains(e, []byte("||"))
		s.tooManyParts = bytes.Count(e, []byte("|")) > 3
	}
	return s
}

// sample parses one value followed by suffix s, with statsd_exporter's
// order of checks.
func (p *Parser) sample(name, value []byte, s *suffix, line []byte, h Handler) {
	if s.tooManyParts {
		h.Error(ReasonMalformedComponent, line)
		return
	}
	// A set's member is any text (a user ID, an IP), not a number.
	isSet := p.sets && string(s.typ) == "s"
	var v float64
	if isSet {
		if len(value) == 0 {
			h.Error(ReasonMalformedValue, line)
			return
		}
	} else {
		var err error
		if v, err = parseFloat(value); err != nil {
			h.Error(ReasonMalformedValue, line)
			return
		}
	}
	relative := !isSet && len(value) > 0 && (value[0] == '+' || value[0] == '-')
	if s.emptyPart {
		h.Error(ReasonMalformedComponent, line)
		return
	}
	if !s.parsed {
		s.parsed = true
		p.parts(s, line, h)
	} else {
		// Replay all but tag errors: statsd_exporter reports those once
		// per value too; here once per line.
		for range s.rateErrs {
			h.Error(ReasonInvalidSampleFactor, line)
		}
		if s.drop != 0 {
			h.Error(s.drop, line)
		}
	}
	if s.drop != 0 {
		return
	}
	for _, f := range s.divs[:s.ndivs] {
		v /= f
	}
	if p.tooMany {
		h.Error(ReasonTooManyTags, line)
		return
	}
	if s.repeat == 0 {
		return // statsd_exporter emits int(1/rate) = 0 events, silently
	}
	var t Type
	switch string(s.typ) {
	case "c":
		t = TypeCounter
		if v < 0 {
			h.Error(ReasonIllegalNegativeCounter, line)
			return
		}
	case "g":
		t = TypeGauge
	case "ms":
		t = TypeTimer
	case "h":
		t = TypeHistogram
	case "d":
		t = TypeDistribution
	case "s":
		if !p.sets {
			h.Error(ReasonIllegalEvent, line)
			return
		}
		t = TypeSet
	default:
		h.Error(ReasonIllegalEvent, line)
		return
	}
	p.ev = Event{Name: name, Type: t, Value: v, Labels: p.labels, Relative: relative, Repeat: s.repeat}
	if isSet {
		p.ev.Member = value
	}
	h.Event(&p.ev)
}

// parts parses the parts after the type into s and p.labels, reporting
// errors as it goes.
func (p *Parser) parts(s *suffix, line []byte, h Handler) {
	for extra := s.extra; extra != nil; {
		c := extra
		if i := bytes.IndexByte(extra, '|'); i >= 0 {
			c, extra = extra[:i], extra[i+1:]
		} else {
			extra = nil
		}
		switch c[0] {
		case '@':
			f, err := parseFloat(c[1:])
			if err != nil {
				// Reported, but the sample is kept: statsd_exporter goes
				// on with what ParseFloat returned (0, or ±Inf).
				h.Error(ReasonInvalidSampleFactor, line)
				s.rateErrs++
			}
			if f == 0 {
				f = 1
			}
			switch string(s.typ) {
			case "c":
				s.divs[s.ndivs] = f
				s.ndivs++
			case "ms", "h", "d":
				s.repeat = p.repeat(f)
			}
		case '#':
			if p.dialects&DogStatsD != 0 {
				p.tags(c[1:], ':', true, line, h)
			}
		case 'c':
			if len(c) > 2 && c[1] == ':' {
				p.setLabel([]byte("container_id"), c[2:])
			} else {
				s.drop = ReasonMalformedContainerID
				h.Error(s.drop, line)
				return
			}
		case 'T':
			// A DogStatsD timestamp: ignored, as statsd_exporter does.
		default:
			s.drop = ReasonInvalidSampleFactor
			h.Error(s.drop, line)
			return
		}
	}
}

// repeat is statsd_exporter's int(1/rate), the number of events an
// observer's sample stands for, capped at MaxRepeat. A rate over 1, zero
// after inversion, negative or NaN gives 0; so does 1/rate >= 2^63, where
// statsd_exporter's int conversion on amd64 is negative.
func (p *Parser) repeat(rate float64) int {
	r := 1 / rate
	if !(r >= 1) || r >= 1<<63 {
		return 0
	}
	if r >= float64(p.lim.MaxRepeat) {
		return p.lim.MaxRepeat
	}
	return int(r)
}

// nameAndTags strips InfluxDB, Librato or SignalFX tags from the name into
// p.labels, with statsd_exporter's precedence: SignalFX brackets first (a
// lone bracket is a tag error and leaves the name as is); otherwise the
// first '#' (Librato) or ',' (InfluxDB) starts the tags.
func (p *Parser) nameAndTags(name, line []byte, h Handler) []byte {
	if p.dialects&SignalFX != 0 {
		start, end := bytes.IndexByte(name, '['), bytes.IndexByte(name, ']')
		switch {
		case start >= 0 && end > start:
			p.tags(name[start+1:end], '=', false, line, h)
			if end+1 == len(name) {
				return name[:start]
			}
			n := len(p.scratch)
			p.scratch = append(p.scratch, name[:start]...)
			p.scratch = append(p.scratch, name[end+1:]...)
			return p.scratch[n:len(p.scratch):len(p.scratch)]
		case start >= 0 || end >= 0:
			// One bracket, or "]" before "[" (which crashes
			// statsd_exporter: it slices name[start+1:end]).
			h.Error(ReasonMalformedTag, line)
			return name
		}
	}
	for i, c := range name {
		if c == '#' && p.dialects&Librato != 0 || c == ',' && p.dialects&InfluxDB != 0 {
			p.tags(name[i+1:], '=', false, line, h)
			return name[:i]
		}
	}
	return name
}

// tags parses "k<sep>v,k2<sep>v2". An empty last tag is allowed ("k=v,"),
// an empty one before it is a tag error, as in statsd_exporter. DogStatsD
// tags may each start with '#'.
func (p *Parser) tags(list []byte, sep byte, trimHash bool, line []byte, h Handler) {
	for len(list) > 0 {
		tag := list
		i := bytes.IndexByte(list, ',')
		if i >= 0 {
			tag, list = list[:i], list[i+1:]
		} else {
			list = nil
		}
		if trimHash && len(tag) > 0 && tag[0] == '#' {
			tag = tag[1:]
		}
		j := bytes.IndexByte(tag, sep)
		if j <= 0 || j == len(tag)-1 {
			h.Error(ReasonMalformedTag, line)
			continue
		}
		k, v := tag[:j], tag[j+1:]
		if NeedsEscape(k) {
			n := len(p.scratch)
			p.scratch = AppendEscaped(p.scratch, k)
			k = p.scratch[n:len(p.scratch):len(p.scratch)]
		}
		if len(k) >= 2 && k[0] == '_' && k[1] == '_' {
			// Reserved by Prometheus: statsd_exporter takes it, and then
			// every scrape of its /metrics fails.
			h.Error(ReasonReservedLabelName, line)
			continue
		}
		p.setLabel(k, v)
	}
}

// setLabel adds or replaces a label: statsd_exporter keeps labels in a map,
// so the last value for a (escaped) name wins.
func (p *Parser) setLabel(k, v []byte) {
	for i := range p.labels {
		if bytes.Equal(p.labels[i].Name, k) {
			p.labels[i].Value = v
			return
		}
	}
	if len(p.labels) >= p.lim.MaxTags {
		p.tooMany = true
		return
	}
	p.labels = append(p.labels, Label{Name: k, Value: v})
}

// parseFloat is strconv.ParseFloat without copying b: strconv does not
// keep its argument (its errors hold a copy).
func parseFloat(b []byte) (float64, error) {
	if len(b) == 0 {
		return strconv.ParseFloat("", 64)
	}
	return strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
}
