package s3

import (
	"encoding/xml"
	"strings"
	"unicode/utf8"
)

// parseErrorBody extracts Code and Message from an S3 error document;
// "" for what it lacks.
func parseErrorBody(data []byte) (code, message string) {
	var doc struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(data, &doc) != nil {
		return "", ""
	}
	return clip(doc.Code, 64), clip(doc.Message, 200)
}

// clip bounds s to n bytes of printable text.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(strings.TrimSpace(s), "\uFFFD"))
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
