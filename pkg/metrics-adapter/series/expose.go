package series

import (
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Format is an exposition format.
type Format uint8

// The exposition formats.
const (
	// FormatText is the Prometheus text format 0.0.4, byte for byte what
	// client_golang's expfmt writes for the same metric families.
	FormatText Format = iota
	// FormatOpenMetrics is OpenMetrics 1.0.0 text, as expfmt's
	// MetricFamilyToOpenMetrics writes it (a counter without the _total
	// suffix becomes "unknown"), ending with "# EOF".
	FormatOpenMetrics
)

type entry struct {
	key   string
	fam   *family
	val   float64 // value or sum
	count uint64
	off   int // into scrapeScratch.u (histograms) or .f (summaries)
}

type scrapeScratch struct {
	entries []entry
	u       []uint64
	f       []float64
	w       []weighted
	pairs   [][2]string
	kb      []byte
	out     []byte
}

const flushAt = 32 << 10

// Expose writes every series to w in format f, sorted by name and then by
// labels. It copies values out of one shard at a time (holding the shard's
// lock only for that), sorts, then formats without any lock. Its scratch
// memory is kept for the next call, so scrapes do not grow the heap.
func (s *Store) Expose(w io.Writer, f Format) error {
	return s.expose(w, f, true, nil)
}

// expose writes the store's families, and "# EOF" in OpenMetrics when eof
// is set (unset when more families follow, see Handler); wrote, if set,
// is told each family's name.
func (s *Store) expose(w io.Writer, f Format, eof bool, wrote func(name string)) error {
	s.scrapeMu.Lock()
	defer s.scrapeMu.Unlock()
	sc := &s.scratch
	s.snapshot(sc)
	e := &expo{w: w, b: sc.out[:0], om: f == FormatOpenMetrics, sc: sc}
	var cur *family
	curName := ""
	for i := range sc.entries {
		en := &sc.entries[i]
		if cur == nil || en.fam.name != curName {
			cur, curName = en.fam, en.fam.name
			e.header(cur)
			if wrote != nil {
				wrote(curName)
			}
		} else if en.fam.typ != cur.typ {
			continue // the name was expired and recreated with another type mid-scrape
		}
		e.series(en)
		if len(e.b) >= flushAt {
			e.flush()
		}
	}
	if e.om && eof {
		e.b = append(e.b, "# EOF\n"...)
	}
	e.flush()
	sc.out = e.b[:0]
	if cap(sc.out) > 4*flushAt {
		sc.out = nil
	}
	return e.err
}

func (s *Store) snapshot(sc *scrapeScratch) {
	sc.entries, sc.u, sc.f = sc.entries[:0], sc.u[:0], sc.f[:0]
	now := s.now().UnixNano()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, se := range sh.m {
			en := entry{key: se.key, fam: se.fam, val: se.val}
			switch se.fam.typ {
			case Histogram:
				en.count, en.off = se.obs.count, len(sc.u)
				var cum uint64
				for _, c := range se.obs.buckets {
					cum += c
					sc.u = append(sc.u, cum)
				}
			case Summary:
				en.count, en.off = se.obs.count, len(sc.f)
				sc.f, sc.w = se.obs.sum.quantiles(sc.f, now, se.fam, sc.w)
			}
			sc.entries = append(sc.entries, en)
		}
		sh.mu.Unlock()
	}
	sortEntries(sc.entries)
}

func sortEntries(es []entry) {
	// slices.SortFunc with strings.Compare: keys sort as the exposition
	// wants (key.go).
	slices.SortFunc(es, func(a, b entry) int { return strings.Compare(a.key, b.key) })
}

type expo struct {
	w   io.Writer
	b   []byte
	om  bool
	err error
	sc  *scrapeScratch
}

func (e *expo) flush() {
	if e.err == nil && len(e.b) > 0 {
		_, e.err = e.w.Write(e.b)
	}
	e.b = e.b[:0]
}

func (e *expo) header(f *family) {
	name, typ := f.name, f.typ.String()
	if e.om && f.typ == Counter {
		if strings.HasSuffix(name, "_total") {
			name = name[:len(name)-len("_total")]
		} else {
			typ = "unknown"
		}
	}
	e.b = append(e.b, "# HELP "...)
	e.b = append(e.b, name...)
	e.b = append(e.b, ' ')
	e.b = appendHelp(e.b, f.help, e.om)
	e.b = append(e.b, "\n# TYPE "...)
	e.b = append(e.b, name...)
	e.b = append(e.b, ' ')
	e.b = append(e.b, typ...)
	e.b = append(e.b, '\n')
}

func (e *expo) series(en *entry) {
	f := en.fam
	sc := e.sc
	sc.pairs, sc.kb = keyLabels(en.key, sc.pairs, sc.kb[:0])
	switch f.typ {
	case Counter, Gauge:
		e.sample(f.name, "", "", 0, en.val, 0, false)
	case Histogram:
		for i, b := range f.buckets {
			e.sample(f.name, "_bucket", "le", b, 0, sc.u[en.off+i], true)
		}
		e.sample(f.name, "_bucket", "le", math.Inf(1), 0, en.count, true)
		e.sample(f.name, "_sum", "", 0, en.val, 0, false)
		e.sample(f.name, "_count", "", 0, 0, en.count, true)
	case Summary:
		for i, q := range f.quantiles {
			e.sample(f.name, "", "quantile", q, sc.f[en.off+i], 0, false)
		}
		e.sample(f.name, "_sum", "", 0, en.val, 0, false)
		e.sample(f.name, "_count", "", 0, 0, en.count, true)
	}
}

func (e *expo) sample(name, suffix, extra string, extraVal, v float64, u uint64, isUint bool) {
	b := append(e.b, name...)
	b = append(b, suffix...)
	pairs := e.sc.pairs
	if len(pairs) > 0 || extra != "" {
		b = append(b, '{')
		for i, p := range pairs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, p[0]...)
			b = append(b, '=', '"')
			b = appendLabelValue(b, p[1])
			b = append(b, '"')
		}
		if extra != "" {
			if len(pairs) > 0 {
				b = append(b, ',')
			}
			b = append(b, extra...)
			b = append(b, '=', '"')
			b = e.float(b, extraVal)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	if isUint {
		b = strconv.AppendUint(b, u, 10)
	} else {
		b = e.float(b, v)
	}
	e.b = append(b, '\n')
}

// float formats like expfmt: writeFloat for text, writeOpenMetricsFloat
// (".0" added to integers) for OpenMetrics.
func (e *expo) float(b []byte, f float64) []byte {
	if math.IsInf(f, 1) {
		return append(b, "+Inf"...)
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, 64)
	if e.om && !math.IsNaN(f) && !math.IsInf(f, 0) {
		for _, c := range b[start:] {
			if c == '.' || c == 'e' {
				return b
			}
		}
		b = append(b, '.', '0')
	}
	return b
}

// appendLabelValue escapes \, newline and " (expfmt's quotedEscaper).
func appendLabelValue(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '"':
			b = append(b, '\\', '"')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendHelp escapes \ and newline, and " too for OpenMetrics.
func appendHelp(b []byte, h string, quote bool) []byte {
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '"' && quote:
			b = append(b, '\\', '"')
		default:
			b = append(b, c)
		}
	}
	return b
}
