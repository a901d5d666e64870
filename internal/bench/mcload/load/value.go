package load

import (
	"bytes"
	"hash/crc32"
)

// A value is "<key> <version, 16 hex> <filler><crc, 8 hex>", exactly
// ValueSize bytes. The CRC-32C covers everything before it, so a value cut
// short, spliced or with any byte changed fails; the key inside names the
// key it was written for, so another key's value returned under this key is
// caught even when intact; the version (per key, increasing) catches a stale
// read. The item's flags are the version's low 16 bits, which catches a
// proxy that drops or swaps flags.
const valueOverhead = 1 + 16 + 1 + 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const hexDigits = "0123456789abcdef"

// newFiller returns the bytes fillers are cut from: any window of it is
// printable, and the offset differs by version so consecutive versions differ
// in every filler byte.
func newFiller(valueSize int) []byte {
	b := make([]byte, valueSize+26)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

func flagsOf(version uint64) uint32 { return uint32(version & 0xffff) }

// appendValue appends the value of key (its bytes, already formatted) at
// version, size bytes long; size >= len(key)+valueOverhead.
func appendValue(dst, key []byte, version uint64, size int, filler []byte) []byte {
	start := len(dst)
	b := append(dst, key...)
	b = append(b, ' ')
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hexDigits[version>>uint(shift)&0xf])
	}
	b = append(b, ' ')
	n := size - (len(b) - start) - 8
	off := int(version % 26)
	b = append(b, filler[off:off+n]...)
	crc := crc32.Checksum(b[start:], castagnoli)
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, hexDigits[crc>>uint(shift)&0xf])
	}
	return b
}

// checkValue verifies a value returned for the key whose bytes are key and
// returns its version. The kind is errNone, errChecksum (cut, changed or not
// ours) or errWrongKey (intact, but another key's value).
func checkValue(data, key []byte) (uint64, errKind) {
	n := len(data)
	if n < valueOverhead+1 {
		return 0, errChecksum
	}
	want, ok := parseHex(data[n-8:])
	if !ok || uint32(want) != crc32.Checksum(data[:n-8], castagnoli) {
		return 0, errChecksum
	}
	sp := bytes.IndexByte(data, ' ')
	if sp < 0 || sp+18 > n-8 || data[sp+17] != ' ' {
		return 0, errChecksum
	}
	version, ok := parseHex(data[sp+1 : sp+17])
	if !ok {
		return 0, errChecksum
	}
	if !bytes.Equal(data[:sp], key) {
		return version, errWrongKey
	}
	return version, errNone
}

func parseHex(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
