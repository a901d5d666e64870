package protocol

import "math"

// isCSpace is C's isspace in the "C" locale.
func isCSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// cNumber reads a token the way memcached's safe_strto* helpers do with C's
// strtol family: optional leading white space, an optional sign, decimal
// digits, then the end of the token or a white-space byte (memcached ignores
// what follows it, so "1\tx" is 1). It fails on overflow of 64 bits.
func cNumber(b []byte) (neg bool, v uint64, ok bool) {
	i := 0
	for i < len(b) && isCSpace(b[i]) {
		i++
	}
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	start := i
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if v > (math.MaxUint64-d)/10 {
			return false, 0, false
		}
		v = v*10 + d
	}
	if i == start || (i < len(b) && !isCSpace(b[i])) {
		return false, 0, false
	}
	return neg, v, true
}

// parseUint32 reads client flags or a verbosity level. memcached 1.6.18
// truncates values over 32 bits; the proxy rejects them.
func parseUint32(b []byte) (uint32, bool) {
	neg, v, ok := cNumber(b)
	if !ok || neg || v > math.MaxUint32 {
		return 0, false
	}
	return uint32(v), true
}

// parseInt32 reads an exptime or a data length. memcached 1.6.18 truncates
// values outside 32 bits; the proxy rejects them.
func parseInt32(b []byte) (int32, bool) {
	neg, v, ok := cNumber(b)
	switch {
	case !ok:
		return 0, false
	case neg && v <= -math.MinInt32:
		return int32(-int64(v)), true
	case !neg && v <= math.MaxInt32:
		return int32(v), true
	}
	return 0, false
}

// parseUint64 reads a cas unique or an incr/decr delta.
func parseUint64(b []byte) (uint64, bool) {
	neg, v, ok := cNumber(b)
	if !ok || neg {
		return 0, false
	}
	return v, true
}

// parseDigits reads a number a server wrote: decimal digits only.
func parseDigits(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}
