package statsd

import "unicode/utf8"

func validNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// NeedsEscape reports whether AppendEscaped would change name.
func NeedsEscape[T string | []byte](name T) bool {
	if len(name) > 0 && name[0] >= '0' && name[0] <= '9' {
		return true
	}
	for i := 0; i < len(name); i++ {
		if !validNameByte(name[i]) {
			return true
		}
	}
	return false
}

// AppendEscaped appends name made a valid Prometheus metric or label name
// to dst, the same way as statsd_exporter's mapper.EscapeMetricName: a
// leading digit gets a '_' prefix, each other character (rune) outside
// [a-zA-Z0-9_] becomes '_', except that a '-' following a '-' is dropped
// ("a--b" is "a_b"). statsd_exporter escapes tag keys this way and metric
// names after mapping.
func AppendEscaped(dst, name []byte) []byte {
	if len(name) > 0 && name[0] >= '0' && name[0] <= '9' {
		dst = append(dst, '_')
	}
	var prev rune
	for i := 0; i < len(name); {
		c := name[i]
		if validNameByte(c) {
			dst = append(dst, c)
			prev = rune(c)
			i++
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(name[i:])
		}
		i += size
		if r == '-' && prev == '-' {
			continue
		}
		dst = append(dst, '_')
		prev = r
	}
	return dst
}
