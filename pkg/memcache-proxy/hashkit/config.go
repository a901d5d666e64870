package hashkit

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Distribution names how keys are spread over servers, spelled as in
// twemproxy's "distribution:" setting.
type Distribution string

// The distributions twemproxy offers.
const (
	// Ketama: consistent hashing on a continuum of 160 points per server
	// (scaled by weight), libmemcached-compatible.
	Ketama Distribution = "ketama"
	// Modula: hash modulo the total weight.
	Modula Distribution = "modula"
	// Random: any live server, uniformly, for every request (weights are
	// ignored, as in twemproxy).
	Random Distribution = "random"

	// DefaultDistribution is twemproxy's default.
	DefaultDistribution = Ketama
)

// DefaultPort is the port twemproxy leaves out of a server's ring name, for
// compatibility with libmemcached.
const DefaultPort = 11211

// ErrNoLiveServers is returned when a ring would have no live server.
var ErrNoLiveServers = errors.New("hashkit: no live servers")

// Config describes a pool, in the terms of a twemproxy pool.
type Config struct {
	Hash         Hash         // "" means DefaultHash (fnv1a_64)
	Distribution Distribution // "" means DefaultDistribution (ketama)
	// HashTag is "" or two bytes, e.g. "{}": when a key holds the first
	// byte and, after it, the second with at least one byte between them,
	// only the bytes between are hashed.
	HashTag string
	Servers []Server // required; Ring.Pick returns an index into it
}

// Server is one line of a twemproxy pool's "servers:" list,
// "host:port:weight [name]" or "/path/to/socket:weight [name]".
type Server struct {
	// Name, when set, is the server's identity on the ketama continuum
	// (twemproxy's optional "name" field). Changing the address of a named
	// server moves no keys.
	Name string
	// Addr is "host:port" or a unix socket path, exactly as written in the
	// server line: without a Name, the ring name is built from its text
	// (the port text as written, e.g. "0112" stays "0112").
	Addr string
	// Weight is the server's share; 0 means 1.
	Weight int
}

// maxTotalWeight keeps the sum of weights in twemproxy's uint32 counter.
const maxTotalWeight = math.MaxUint32

// server is a validated Server.
type server struct {
	ringName string
	weight   uint32
	index    int32 // position in Config.Servers
}

// RingName returns the string twemproxy puts on the continuum for s: its
// Name when set; else "host" when the port is 11211, "host:port" otherwise
// (the port text as written); for a unix socket path, the path followed by
// ":" (twemproxy counts one byte more than the path for the absent port).
func RingName(s Server) (string, error) {
	if s.Name != "" {
		return s.Name, nil
	}
	if s.Addr == "" {
		return "", errors.New("no address")
	}
	if s.Addr[0] == '/' {
		return s.Addr + ":", nil
	}
	i := strings.LastIndexByte(s.Addr, ':')
	if i < 0 {
		return "", fmt.Errorf("address %q has no port", s.Addr)
	}
	host, portText := s.Addr[:i], s.Addr[i+1:]
	if host == "" {
		return "", fmt.Errorf("address %q has no host", s.Addr)
	}
	port, ok := atoi(portText)
	if !ok || port < 1 || port > math.MaxUint16 {
		return "", fmt.Errorf("address %q has an invalid port", s.Addr)
	}
	if port == DefaultPort {
		return host, nil
	}
	return s.Addr, nil
}

// atoi parses decimal digits only, as twemproxy's nc_atoi.
func atoi(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n > math.MaxInt32 {
			return 0, false
		}
	}
	return n, true
}

// validate resolves cfg's defaults and checks it. servers comes back in
// twemproxy's order: sorted by ring name, shorter names first, then
// bytewise (twemproxy sorts the pool this way to find duplicate names, and
// keeps the sorted order; modula depends on it).
func validate(cfg Config) (hashFn func([]byte) uint32, dist Distribution, servers []server, err error) {
	hashFn, err = cfg.Hash.Func()
	if err != nil {
		return nil, "", nil, fmt.Errorf("hashkit: hash: %w", err)
	}
	dist = cfg.Distribution
	if dist == "" {
		dist = DefaultDistribution
	}
	switch dist {
	case Ketama, Modula, Random:
	default:
		return nil, "", nil, fmt.Errorf("hashkit: distribution: unknown distribution %q (want ketama, modula or random)", string(dist))
	}
	if n := len(cfg.HashTag); n != 0 && n != 2 {
		return nil, "", nil, fmt.Errorf("hashkit: hash_tag: must be two bytes, e.g. \"{}\" (got %q)", cfg.HashTag)
	}
	if len(cfg.Servers) == 0 {
		return nil, "", nil, errors.New("hashkit: servers: none given")
	}
	if len(cfg.Servers) > math.MaxInt32 {
		return nil, "", nil, errors.New("hashkit: servers: too many")
	}
	servers = make([]server, len(cfg.Servers))
	var total uint64
	for i, s := range cfg.Servers {
		name, err := RingName(s)
		if err != nil {
			return nil, "", nil, fmt.Errorf("hashkit: servers[%d]: %w", i, err)
		}
		w := s.Weight
		if w == 0 {
			w = 1
		}
		if w < 0 || w > math.MaxInt32 {
			return nil, "", nil, fmt.Errorf("hashkit: servers[%d] (%s): weight must be 1..%d (got %d)", i, name, math.MaxInt32, s.Weight)
		}
		total += uint64(w)
		if total > maxTotalWeight {
			return nil, "", nil, fmt.Errorf("hashkit: servers: total weight over %d", uint64(maxTotalWeight))
		}
		servers[i] = server{ringName: name, weight: uint32(w), index: int32(i)}
	}
	slices.SortFunc(servers, func(a, b server) int {
		if c := cmp.Compare(len(a.ringName), len(b.ringName)); c != 0 {
			return c
		}
		return strings.Compare(a.ringName, b.ringName)
	})
	for i := 1; i < len(servers); i++ {
		if servers[i].ringName == servers[i-1].ringName {
			return nil, "", nil, fmt.Errorf("hashkit: servers[%d] and servers[%d]: same name %q", servers[i-1].index, servers[i].index, servers[i].ringName)
		}
	}
	return hashFn, dist, servers, nil
}
