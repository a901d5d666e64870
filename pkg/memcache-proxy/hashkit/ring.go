// Package hashkit places keys on the servers of a memcached pool exactly as
// twemproxy (nutcracker) 0.5.0 does, so that podkit memcache-proxy, the
// ambassador of Burns & Oppenheimer 2016 section 4.2, can replace a running
// twemproxy without moving a key: every twemproxy hash (md5, crc16, crc32,
// crc32a, fnv1_64, fnv1a_64, fnv1_32, fnv1a_32, hsieh, murmur, jenkins,
// one_at_a_time), the ketama, modula and random distributions, server
// names, weights and hash_tag.
//
// A side-by-side test runs Debian's nutcracker against real memcached
// servers and checks, key by key, that Ring.Pick names the server
// nutcracker stored each key on.
//
// When twemproxy's auto_eject_hosts ejects a server it rebuilds the
// distribution from the live servers alone; Ring.WithLive builds that ring.
package hashkit

import (
	"cmp"
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// Ring maps keys to servers. It is immutable and safe for concurrent use.
type Ring struct {
	hash    func([]byte) uint32
	dist    Distribution
	tag     [2]byte
	hasTag  bool
	single  bool     // one server in the pool: twemproxy skips hashing
	servers []server // twemproxy's order (see validate)
	live    []bool   // by Config.Servers index

	// liveSorted: config indexes of the live servers, in twemproxy's order.
	liveSorted []int32

	// ketama: the continuum, sorted by value; owner[i] is a config index.
	points []uint32
	owner  []int32

	// modula with unequal weights: cumEnd[i] is the end (exclusive) of
	// liveSorted[i]'s share of [0, totalWeight).
	cumEnd      []uint32
	totalWeight uint32
	unitWeights bool
}

// New validates cfg and builds the ring with every server live. It does no
// I/O.
func New(cfg Config) (*Ring, error) {
	hashFn, dist, servers, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	r := &Ring{hash: hashFn, dist: dist, servers: servers, single: len(servers) == 1}
	if cfg.HashTag != "" {
		r.hasTag = true
		r.tag = [2]byte{cfg.HashTag[0], cfg.HashTag[1]}
	}
	live := make([]bool, len(servers))
	for i := range live {
		live[i] = true
	}
	r.build(live)
	return r, nil
}

// WithLive returns the ring twemproxy rebuilds when only the servers with
// live[i] true are in service (auto_eject_hosts): the same pool, placed
// over the live subset as if the others were absent. live is indexed like
// Config.Servers. It fails with ErrNoLiveServers when none is live.
func (r *Ring) WithLive(live []bool) (*Ring, error) {
	if len(live) != len(r.servers) {
		return nil, fmt.Errorf("hashkit: live: %d entries for %d servers", len(live), len(r.servers))
	}
	if !slices.Contains(live, true) {
		return nil, ErrNoLiveServers
	}
	nr := &Ring{hash: r.hash, dist: r.dist, tag: r.tag, hasTag: r.hasTag, single: r.single, servers: r.servers}
	nr.build(slices.Clone(live))
	return nr, nil
}

// Len is the number of servers, live or not.
func (r *Ring) Len() int { return len(r.servers) }

// Live reports whether server i (a Config.Servers index) is in the ring.
func (r *Ring) Live(i int) bool { return i >= 0 && i < len(r.live) && r.live[i] }

// Distribution is the ring's distribution, defaults resolved.
func (r *Ring) Distribution() Distribution { return r.dist }

// RingName is server i's identity on the continuum (see the function
// RingName).
func (r *Ring) RingName(i int) string {
	for _, s := range r.servers {
		if int(s.index) == i {
			return s.ringName
		}
	}
	return ""
}

func (r *Ring) build(live []bool) {
	r.live = live
	r.liveSorted = r.liveSorted[:0]
	var total uint32
	r.unitWeights = true
	for _, s := range r.servers {
		if !live[s.index] {
			continue
		}
		r.liveSorted = append(r.liveSorted, s.index)
		total += s.weight
		if s.weight != 1 {
			r.unitWeights = false
		}
	}
	r.totalWeight = total
	switch r.dist {
	case Ketama:
		r.buildKetama(total)
	case Modula:
		if !r.unitWeights {
			var end uint32
			r.cumEnd = make([]uint32, 0, len(r.liveSorted))
			for _, s := range r.servers {
				if live[s.index] {
					end += s.weight
					r.cumEnd = append(r.cumEnd, end)
				}
			}
		}
	}
}

// Ketama constants, as twemproxy's (and libmemcached's).
const (
	ketamaPointsPerServer = 160 // at equal weights
	ketamaPointsPerHash   = 4   // one MD5 digest yields four points
	ketamaMaxHostLen      = 273 // the buffer twemproxy 0.5.0 formats "name-N" into
)

// ketamaPoints is how many continuum points a server of weight w gets among
// nlive live servers of total weight total. twemproxy computes it in single
// precision float (only the 1e-10 nudge is double): with float64 some
// weight mixes get 4 points more or fewer per server.
func ketamaPoints(w, total uint32, nlive int) uint32 {
	pct := float32(w) / float32(total)
	t := float32(pct * ketamaPointsPerServer)
	t = float32(t / 4)
	t = float32(t * float32(nlive))
	f := float32(float64(t) + 0.0000000001)
	return uint32(float32(math.Floor(float64(f))) * 4)
}

// ketamaPointName is the string hashed for a server's idx-th group of four
// points, appended to buf: "name-idx", cut to 272 bytes. twemproxy 0.5.0
// formats it into a 273-byte buffer and hashes what fits, so a name of 270
// bytes or more gives several groups the same string (the side-by-side
// test has one).
func ketamaPointName(buf []byte, name string, idx int) []byte {
	buf = append(buf[:0], name...)
	buf = append(buf, '-')
	buf = strconv.AppendInt(buf, int64(idx), 10)
	if len(buf) > ketamaMaxHostLen-1 {
		buf = buf[:ketamaMaxHostLen-1]
	}
	return buf
}

func (r *Ring) buildKetama(total uint32) {
	nlive := len(r.liveSorted)
	type point struct {
		value uint32
		owner int32
	}
	pts := make([]point, 0, nlive*ketamaPointsPerServer)
	var buf []byte
	for _, s := range r.servers {
		if !r.live[s.index] {
			continue
		}
		n := ketamaPoints(s.weight, total, nlive)
		for g := 0; g < int(n/ketamaPointsPerHash); g++ {
			buf = ketamaPointName(buf, s.ringName, g)
			d := md5.Sum(buf)
			for x := 0; x < ketamaPointsPerHash; x++ {
				pts = append(pts, point{binary.LittleEndian.Uint32(d[4*x:]), s.index})
			}
		}
	}
	// Stable, as glibc's qsort (a merge sort for arrays this size) is: on a
	// tie the server earlier in twemproxy's order comes first and wins.
	slices.SortStableFunc(pts, func(a, b point) int { return cmp.Compare(a.value, b.value) })
	r.points = make([]uint32, len(pts))
	r.owner = make([]int32, len(pts))
	for i, p := range pts {
		r.points[i] = p.value
		r.owner[i] = p.owner
	}
}

// KeyHash is the hash twemproxy dispatches key by: the configured hash of
// the key, or of the part inside the hash tag; 0 for an empty key or a
// one-server pool (twemproxy does not hash then).
func (r *Ring) KeyHash(key []byte) uint32 {
	if r.single {
		return 0
	}
	key = r.tagged(key)
	if len(key) == 0 {
		return 0
	}
	return r.hash(key)
}

// tagged applies the hash tag: the bytes between the first tag[0] and the
// first tag[1] after it, when there is at least one; else the whole key.
func (r *Ring) tagged(key []byte) []byte {
	if !r.hasTag {
		return key
	}
	start := -1
	for i, c := range key {
		if c == r.tag[0] {
			start = i
			break
		}
	}
	if start < 0 {
		return key
	}
	for j := start + 1; j < len(key); j++ {
		if key[j] == r.tag[1] {
			if j-start > 1 {
				return key[start+1 : j]
			}
			return key
		}
	}
	return key
}

// Pick returns the index in Config.Servers of the server key goes to. It
// always names a live server and does not allocate.
func (r *Ring) Pick(key []byte) int {
	if r.dist == Random {
		return int(r.liveSorted[rand.IntN(len(r.liveSorted))])
	}
	h := r.KeyHash(key)
	switch r.dist {
	case Ketama:
		return r.dispatchKetama(h)
	default: // Modula
		return r.dispatchModula(h)
	}
}

func (r *Ring) dispatchKetama(h uint32) int {
	pts := r.points
	if len(pts) == 0 {
		return int(r.liveSorted[0])
	}
	// The first point >= h, wrapping to the first point past the end.
	lo, hi := 0, len(pts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if pts[m] < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(pts) {
		lo = 0
	}
	return int(r.owner[lo])
}

func (r *Ring) dispatchModula(h uint32) int {
	if r.unitWeights {
		return int(r.liveSorted[h%uint32(len(r.liveSorted))])
	}
	m := h % r.totalWeight
	lo, hi := 0, len(r.cumEnd)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if r.cumEnd[mid] <= m {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return int(r.liveSorted[lo])
}
