package series

import "unicode/utf8"

// A series key is one string that identifies the series and sorts the way
// the exposition wants (name, then fewer labels first, then label values in
// label-name order, as client_golang sorts metrics), so a scrape sorts with
// plain string comparisons:
//
//	name 0x00 count(2 bytes, big endian) {value 0x00}... {label-name 0x00}...
//
// Inside each part 0x00 is written 0x01 0x01 and 0x01 is written 0x01 0x02:
// the encoding is unambiguous and keeps byte order.

func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			b = append(b, 1, 1)
		case 1:
			b = append(b, 1, 2)
		default:
			b = append(b, c)
		}
	}
	return append(b, 0)
}

// appendKey appends the key of name and labels, which must be sorted by
// name.
func appendKey(b []byte, name string, labels []Label) []byte {
	b = appendEscaped(b, name)
	b = append(b, byte(len(labels)>>8), byte(len(labels)))
	for i := range labels {
		b = appendEscaped(b, labels[i].Value)
	}
	for i := range labels {
		b = appendEscaped(b, labels[i].Name)
	}
	return b
}

// nextPart returns the first part of k unescaped (a substring of k when it
// holds no escapes, else built in scratch) and the rest of k.
func nextPart(k string, scratch []byte) (part, rest string, sc []byte) {
	for i := 0; i < len(k); i++ {
		switch k[i] {
		case 0:
			return k[:i], k[i+1:], scratch
		case 1:
			start := len(scratch)
			scratch = append(scratch, k[:i]...)
			for ; i < len(k) && k[i] != 0; i++ {
				if k[i] == 1 && i+1 < len(k) {
					i++
					scratch = append(scratch, k[i]-1)
					continue
				}
				scratch = append(scratch, k[i])
			}
			if i < len(k) {
				i++
			}
			return string(scratch[start:]), k[i:], scratch // rare: a 0x00 or 0x01 in a value
		}
	}
	return k, "", scratch
}

// keyLabels decodes the labels of key into pairs (name, value), reusing
// pairs and scratch.
func keyLabels(key string, pairs [][2]string, scratch []byte) ([][2]string, []byte) {
	pairs = pairs[:0]
	_, rest, scratch := nextPart(key, scratch)
	if len(rest) < 2 {
		return pairs, scratch
	}
	n := int(rest[0])<<8 | int(rest[1])
	rest = rest[2:]
	var p string
	for range n {
		p, rest, scratch = nextPart(rest, scratch)
		pairs = append(pairs, [2]string{"", p})
	}
	for i := range n {
		p, rest, scratch = nextPart(rest, scratch)
		pairs[i][0] = p
	}
	return pairs, scratch
}

// sortLabels sorts small label sets in place (insertion sort: no
// allocation, and label sets are short).
func sortLabels(ls []Label) {
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j].Name < ls[j-1].Name; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}

func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// validLabels checks sorted labels: legacy names, not reserved ("__"
// prefix), unique, values UTF-8.
func validLabels(ls []Label) bool {
	if len(ls) > maxLabels {
		return false
	}
	for i := range ls {
		n := ls[i].Name
		if n == "" || len(n) >= 2 && n[0] == '_' && n[1] == '_' {
			return false
		}
		for j := 0; j < len(n); j++ {
			c := n[j]
			if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 0 && c >= '0' && c <= '9') {
				return false
			}
		}
		if i > 0 && ls[i-1].Name == n {
			return false
		}
		if !utf8.ValidString(ls[i].Value) {
			return false
		}
	}
	return true
}
