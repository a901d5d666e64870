package mapping

import (
	"github.com/podkit/podkit/pkg/metrics-adapter/statsd"
)

// EscapeName turns a statsd name into a Prometheus metric name the way
// statsd_exporter's EscapeMetricName does (it names unmatched metrics and
// escapes every mapped name): each rune outside [a-zA-Z0-9_] becomes one '_'
// (so '.' and '-' do, and a multi-byte rune gives a single '_'), a run of
// dashes gives a single '_', and a leading digit gets a '_' in front. ""
// stays "". The input is returned as it is, without allocating, when nothing
// needs escaping.
//
// statsd_exporter rejects lines that are not valid UTF-8 before mapping; for
// such input EscapeName turns each invalid byte into '_' (statsd_exporter's
// function would skip bytes after it or panic).
func EscapeName(s string) string {
	if !statsd.NeedsEscape(s) {
		return s
	}
	return string(statsd.AppendEscaped(make([]byte, 0, len(s)+1), []byte(s)))
}

func validNameByte(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
}

// ValidName reports whether s is a valid Prometheus metric name in the
// legacy character set that EscapeName produces: [a-zA-Z_:][a-zA-Z0-9_:]*.
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ':' || validNameByte(c) && (i > 0 || c < '0' || c > '9') {
			continue
		}
		return false
	}
	return true
}
