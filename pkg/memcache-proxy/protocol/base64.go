package protocol

// decodeMetaKey decodes a meta key sent with flag b the way memcached 1.6
// does, so that the proxy hashes the same bytes memcached stores: bytes
// outside the base64 alphabet are skipped; the remaining count must be a
// non-zero multiple of four; decoding stops after the first quantum holding
// padding ("YQ==YQ==" is "a"), and more than two '=' in it is an error. It
// appends to dst and reports false on failure, as memcached answers
// "CLIENT_ERROR error decoding key".
func decodeMetaKey(dst, src []byte) ([]byte, bool) {
	n := 0
	for _, c := range src {
		if b64[c] != b64Invalid {
			n++
		}
	}
	if n == 0 || n%4 != 0 {
		return dst, false
	}
	start := len(dst)
	var q [4]byte
	k, pad := 0, 0
	for _, c := range src {
		v := b64[c]
		if v == b64Invalid {
			continue
		}
		if c == '=' {
			pad++
		}
		q[k] = v
		k++
		if k < 4 {
			continue
		}
		dst = append(dst, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2, q[2]<<6|q[3])
		k = 0
		if pad == 0 {
			continue
		}
		if pad > 2 {
			return dst[:start], false
		}
		dst = dst[:len(dst)-pad]
		break
	}
	return dst, len(dst) > start
}

const b64Invalid = 0x80

// b64 maps a byte to its 6-bit value; '=' is 0 (padding counts as a
// character), anything else outside the alphabet is b64Invalid.
var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = b64Invalid
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	t['='] = 0
	return t
}()
