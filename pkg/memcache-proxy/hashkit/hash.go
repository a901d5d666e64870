package hashkit

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
)

// Hash names a key hash function, spelled as in twemproxy's "hash:" setting.
type Hash string

// The hash functions twemproxy offers. Each reproduces the value twemproxy
// 0.5.0 computes when built for x86-64, where C's char is signed: the
// functions that widen key bytes through char (the FNV family,
// one_at_a_time, and one tail byte of hsieh) see bytes >= 0x80
// sign-extended. (A build for arm64, whose char is unsigned, places keys
// holding such bytes elsewhere.)
const (
	HashOneAtATime Hash = "one_at_a_time"
	HashMD5        Hash = "md5"
	HashCRC16      Hash = "crc16"
	HashCRC32      Hash = "crc32"
	HashCRC32a     Hash = "crc32a"
	HashFNV64      Hash = "fnv1_64"
	HashFNV64a     Hash = "fnv1a_64"
	HashFNV32      Hash = "fnv1_32"
	HashFNV32a     Hash = "fnv1a_32"
	HashHsieh      Hash = "hsieh"
	HashMurmur     Hash = "murmur"
	HashJenkins    Hash = "jenkins"

	// DefaultHash is twemproxy's default when a pool names none.
	DefaultHash = HashFNV64a
)

// Hashes lists every supported hash, in twemproxy's documentation order.
func Hashes() []Hash {
	return []Hash{
		HashOneAtATime, HashMD5, HashCRC16, HashCRC32, HashCRC32a,
		HashFNV64, HashFNV64a, HashFNV32, HashFNV32a,
		HashHsieh, HashMurmur, HashJenkins,
	}
}

var hashFuncs = map[Hash]func([]byte) uint32{
	HashOneAtATime: oneAtATime,
	HashMD5:        md5Hash,
	HashCRC16:      crc16,
	HashCRC32:      crc32Memcached,
	HashCRC32a:     crc32.ChecksumIEEE,
	HashFNV64:      fnv1x64,
	HashFNV64a:     fnv1ax64,
	HashFNV32:      fnv1x32,
	HashFNV32a:     fnv1ax32,
	HashHsieh:      hsieh,
	HashMurmur:     murmur,
	HashJenkins:    jenkins,
}

// Func returns the function computing h, or an error naming the valid
// hashes. The empty Hash is DefaultHash.
func (h Hash) Func() (func(key []byte) uint32, error) {
	if h == "" {
		h = DefaultHash
	}
	if f, ok := hashFuncs[h]; ok {
		return f, nil
	}
	names := make([]string, 0, len(hashFuncs))
	for _, n := range Hashes() {
		names = append(names, string(n))
	}
	return nil, fmt.Errorf("unknown hash %q (want one of %s)", string(h), strings.Join(names, ", "))
}

// Sum returns h's 32-bit value for key (the whole key: Sum applies no hash
// tag), or 0 for an unknown hash.
func (h Hash) Sum(key []byte) uint32 {
	f, err := h.Func()
	if err != nil {
		return 0
	}
	return f(key)
}

// sext32 widens a key byte the way C does through a signed char.
func sext32(b byte) uint32 { return uint32(int32(int8(b))) }

// md5Hash is the first four bytes of the MD5 digest, little-endian.
func md5Hash(key []byte) uint32 {
	d := md5.Sum(key)
	return binary.LittleEndian.Uint32(d[:4])
}

// crc32Memcached is libmemcached's "crc32": bits 16..30 of the standard
// CRC-32, so it only ever yields 0..32767. With ketama that puts every key
// in the first sliver of the continuum; twemproxy does the same.
func crc32Memcached(key []byte) uint32 {
	return (crc32.ChecksumIEEE(key) >> 16) & 0x7fff
}

// crc16Table is the table of the non-reflected CRC-16 with polynomial
// 0x1021 (the XMODEM/CCITT family).
var crc16Table = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// crc16 is twemproxy 0.5.0's "crc16": the XMODEM table step, but run in a
// 32-bit register that is never cut back to 16 bits, so the bytes shifted up
// stay in the result (libmemcached's value for "apple" is 3662830516).
// Later twemproxy releases changed it to a true 16-bit CRC; Debian's 0.5.0
// has this one (the side-by-side test decides).
func crc16(key []byte) uint32 {
	var crc uint32
	for _, b := range key {
		crc = crc<<8 ^ uint32(crc16Table[byte(crc>>8)^b])
	}
	return crc
}

const (
	fnv64Init  = 0xcbf29ce484222325
	fnv64Prime = 0x100000001b3
	fnv32Init  = 2166136261
	fnv32Prime = 16777619
)

// fnv1x64 is FNV-1 in 64 bits, truncated to 32, with key bytes widened as
// signed chars.
func fnv1x64(key []byte) uint32 {
	h := uint64(fnv64Init)
	for _, b := range key {
		h *= fnv64Prime
		h ^= uint64(int64(int8(b)))
	}
	return uint32(h)
}

// fnv1ax64 is twemproxy's "fnv1a_64", which is not 64-bit at all: FNV-1a in
// a 32-bit register seeded and multiplied with the low 32 bits of the 64-bit
// constants (0x84222325 and 0x1b3), key bytes as signed chars.
func fnv1ax64(key []byte) uint32 {
	h := uint32(fnv64Init & 0xffffffff)
	for _, b := range key {
		h ^= sext32(b)
		h *= fnv64Prime & 0xffffffff
	}
	return h
}

func fnv1x32(key []byte) uint32 {
	h := uint32(fnv32Init)
	for _, b := range key {
		h *= fnv32Prime
		h ^= sext32(b)
	}
	return h
}

func fnv1ax32(key []byte) uint32 {
	h := uint32(fnv32Init)
	for _, b := range key {
		h ^= sext32(b)
		h *= fnv32Prime
	}
	return h
}

// oneAtATime is Bob Jenkins' one-at-a-time hash over signed key bytes.
func oneAtATime(key []byte) uint32 {
	var h uint32
	for _, b := range key {
		h += sext32(b)
		h += h << 10
		h ^= h >> 6
	}
	h += h << 3
	h ^= h >> 11
	h += h << 15
	return h
}

// hsieh is Paul Hsieh's SuperFastHash as twemproxy builds it: 16-bit reads
// are unsigned, but the third byte of a 3-byte tail goes through a signed
// char.
func hsieh(key []byte) uint32 {
	n := len(key)
	if n == 0 {
		return 0
	}
	le16 := func(p []byte) uint32 { return uint32(p[0]) | uint32(p[1])<<8 }
	var h uint32
	p := key
	for ; len(p) >= 4; p = p[4:] {
		h += le16(p)
		tmp := le16(p[2:])<<11 ^ h
		h = h<<16 ^ tmp
		h += h >> 11
	}
	switch len(p) {
	case 3:
		h += le16(p)
		h ^= h << 16
		h ^= sext32(p[2]) << 18
		h += h >> 11
	case 2:
		h += le16(p)
		h ^= h << 11
		h += h >> 17
	case 1:
		h += uint32(p[0])
		h ^= h << 10
		h += h >> 1
	}
	h ^= h << 3
	h += h >> 5
	h ^= h << 4
	h += h >> 17
	h ^= h << 25
	h += h >> 6
	return h
}

// murmur is MurmurHash2 with libmemcached's seed (0xdeadbeef times the
// length).
func murmur(key []byte) uint32 {
	const m = 0x5bd1e995
	n := uint32(len(key))
	h := (0xdeadbeef * n) ^ n
	p := key
	for ; len(p) >= 4; p = p[4:] {
		k := binary.LittleEndian.Uint32(p)
		k *= m
		k ^= k >> 24
		k *= m
		h *= m
		h ^= k
	}
	switch len(p) {
	case 3:
		h ^= uint32(p[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(p[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(p[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

func rotl(x uint32, k uint) uint32 { return x<<k | x>>(32-k) }

// jenkins is Bob Jenkins' lookup3 "hashlittle" with libmemcached's initial
// value 13. twemproxy picks a word, half-word or byte reader by the key's
// alignment; on a little-endian machine all three give this result.
func jenkins(key []byte) uint32 {
	a := 0xdeadbeef + uint32(len(key)) + 13
	b, c := a, a
	p := key
	for len(p) > 12 {
		a += binary.LittleEndian.Uint32(p)
		b += binary.LittleEndian.Uint32(p[4:])
		c += binary.LittleEndian.Uint32(p[8:])
		// mix
		a -= c
		a ^= rotl(c, 4)
		c += b
		b -= a
		b ^= rotl(a, 6)
		a += c
		c -= b
		c ^= rotl(b, 8)
		b += a
		a -= c
		a ^= rotl(c, 16)
		c += b
		b -= a
		b ^= rotl(a, 19)
		a += c
		c -= b
		c ^= rotl(b, 4)
		b += a
		p = p[12:]
	}
	if len(p) == 0 {
		return c // zero-length tail: no final mixing
	}
	var tail [12]byte
	copy(tail[:], p)
	a += binary.LittleEndian.Uint32(tail[0:])
	b += binary.LittleEndian.Uint32(tail[4:])
	c += binary.LittleEndian.Uint32(tail[8:])
	// final
	c ^= b
	c -= rotl(b, 14)
	a ^= c
	a -= rotl(c, 11)
	b ^= a
	b -= rotl(a, 25)
	c ^= b
	c -= rotl(b, 16)
	a ^= c
	a -= rotl(c, 4)
	b ^= a
	b -= rotl(a, 14)
	c ^= b
	c -= rotl(b, 24)
	return c
}
