package graphite

import "unicode/utf8"

func nameByte(c byte, colon bool) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || colon && c == ':'
}

// appendEscaped replaces each rune outside [a-zA-Z0-9_] (and ':' when
// colon) by one '_', an invalid UTF-8 byte too, and then a leading digit
// by '_'.
func appendEscaped(dst, name []byte, colon bool) []byte {
	n := len(dst)
	for i := 0; i < len(name); {
		c := name[i]
		if nameByte(c, colon) {
			dst = append(dst, c)
			i++
			continue
		}
		size := 1
		if c >= utf8.RuneSelf {
			_, size = utf8.DecodeRune(name[i:])
		}
		dst = append(dst, '_')
		i += size
	}
	if len(dst) > n && dst[n] >= '0' && dst[n] <= '9' {
		dst[n] = '_'
	}
	return dst
}

func needsEscape(name []byte, colon bool) bool {
	if len(name) > 0 && name[0] >= '0' && name[0] <= '9' {
		return true
	}
	for _, c := range name {
		if !nameByte(c, colon) {
			return true
		}
	}
	return false
}

// AppendMetricName appends the metric name graphite_exporter exposes for an
// unmapped path: its regexp [^a-zA-Z0-9_:] replaces each rune (each invalid
// UTF-8 byte) by '_'; a leading digit, which client_golang's exposition
// escapes, becomes '_' too ("1.x-y" is "__x_y"). Dashes are not collapsed
// and ':' is kept, unlike mapping.EscapeName.
func AppendMetricName(dst, path []byte) []byte { return appendEscaped(dst, path, true) }

// MetricName is AppendMetricName as a string.
func MetricName(path []byte) string {
	return string(appendEscaped(make([]byte, 0, len(path)), path, true))
}

// AppendLabelName appends a tag name escaped the way a scrape of
// graphite_exporter shows it: each rune outside [a-zA-Z0-9_] becomes '_'
// and so does a leading digit ("http.status-code" is "http_status_code").
func AppendLabelName(dst, name []byte) []byte { return appendEscaped(dst, name, false) }
