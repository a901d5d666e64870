package twemconf

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Validate checks a whole pool: what twemproxy checks (conf_validate_pool,
// conf_validate_server and each key's setter) plus what podkit needs. It does
// not fill in defaults: start from DefaultPool. Errors are *Error naming the
// pool and the twemproxy key; (*Error).Flag names the flag.
func (p *Pool) Validate() error {
	if f := p.check(); f != nil {
		return &Error{Pool: p.Name, Key: f.key, Err: f.err}
	}
	return nil
}

// ValidatePools validates each pool and the set: at least one pool, no two
// with the same name or the same listen address (twemproxy's
// conf_post_validate).
func ValidatePools(pools []Pool) error {
	if i, f := checkPools(pools); f != nil {
		e := &Error{Key: f.key, Err: f.err}
		if i >= 0 {
			e.Pool = pools[i].Name
		}
		return e
	}
	return nil
}

// fault is a validation failure before it gets a file position: the key at
// fault and, for "servers", the server's index.
type fault struct {
	key    string
	server int
	err    error
}

func faultf(key string, format string, args ...any) *fault {
	return &fault{key: key, server: -1, err: fmt.Errorf(format, args...)}
}

// checkPools returns the index of the pool at fault (-1 for none) and why.
func checkPools(pools []Pool) (int, *fault) {
	if len(pools) == 0 {
		return -1, faultf("", "no pools")
	}
	names := map[string]int{}
	listens := map[string]int{}
	for i := range pools {
		p := &pools[i]
		if f := p.check(); f != nil {
			return i, f
		}
		if j, ok := names[p.Name]; ok {
			return i, faultf("", "pool defined twice (first as pool %d)", j+1)
		}
		names[p.Name] = i
		// twemproxy compares the listen strings as written; podkit compares
		// the addresses, so "h:22121" and "h:022121" clash at start too.
		at := p.Listen.Network() + " " + p.Listen.Addr()
		if j, ok := listens[at]; ok {
			return i, faultf("listen", "%s is pool %s's listen address too", quote(p.Listen.String()), quote(pools[j].Name))
		}
		listens[at] = i
	}
	return -1, nil
}

func (p *Pool) check() *fault {
	if p.Name == "" {
		return faultf("", "empty pool name")
	}
	if p.Listen == (Listen{}) {
		return faultf("listen", "missing")
	}
	if err := checkListen(p.Listen); err != nil {
		return &fault{key: "listen", server: -1, err: err}
	}
	if !slices.Contains(hashes, p.Hash) {
		return faultf("hash", "%s: want one of %s", quote(p.Hash), strings.Join(hashes, ", "))
	}
	if p.HashTag != "" && len(p.HashTag) != 2 {
		return faultf("hash_tag", "%s: want exactly two bytes, like \"{}\"", quote(p.HashTag))
	}
	if !slices.Contains(distributions, p.Distribution) {
		return faultf("distribution", "%s: want one of %s", quote(p.Distribution), strings.Join(distributions, ", "))
	}
	for _, n := range []struct {
		key string
		v   int64
		min int64
	}{
		{"timeout", int64(p.Timeout), 0},
		{"backlog", int64(p.Backlog), 0},
		{"client_connections", int64(p.ClientConnections), 0},
		{"server_connections", int64(p.ServerConnections), 1},
		{"server_retry_timeout", int64(p.ServerRetryTimeout), 0},
		{"server_failure_limit", int64(p.ServerFailureLimit), 0},
	} {
		if n.v < n.min {
			return faultf(n.key, "must be at least %d (got %d)", n.min, n.v)
		}
	}
	if len(p.Servers) == 0 {
		return faultf("servers", "no servers")
	}
	rings := make(map[string]int, len(p.Servers))
	for i, s := range p.Servers {
		if err := checkServer(s); err != nil {
			return &fault{key: "servers", server: i, err: fmt.Errorf("server %s: %w", quote(s.String()), err)}
		}
		r := s.RingName()
		if j, ok := rings[r]; ok {
			return &fault{key: "servers", server: i, err: fmt.Errorf("server %s has the name %s of server %s: twemproxy requires unique names (a server without NAME is named HOST, or HOST:PORT when the port is not 11211)",
				quote(s.String()), quote(r), quote(p.Servers[j].String()))}
		}
		rings[r] = i
	}
	return nil
}

// checkListen checks a Listen that may not come from ParseListen.
func checkListen(l Listen) error {
	if l.Path != "" {
		if l.Host != "" || l.Port != 0 {
			return errors.New("a unix socket has no host or port")
		}
		if l.Perm > 0o777 {
			return fmt.Errorf("permissions %04o: at most 0777", uint32(l.Perm))
		}
		return checkPath(l.Path)
	}
	if l.Perm != 0 {
		return errors.New("permissions apply to a unix socket only")
	}
	if err := checkHost(l.Host); err != nil {
		return err
	}
	if l.Port < 1 || l.Port > 65535 {
		return fmt.Errorf("port %d: want 1-65535", l.Port)
	}
	return nil
}

// checkServer checks a Server that may not come from ParseServer.
func checkServer(s Server) error {
	if s.Path != "" {
		if s.Host != "" || s.Port != 0 {
			return errors.New("a unix socket has no host or port")
		}
		if strings.Contains(s.Path, ":") {
			return errors.New("a socket path cannot hold ':'")
		}
		if err := checkPath(s.Path); err != nil {
			return err
		}
	} else {
		if err := checkHost(s.Host); err != nil {
			return err
		}
		if s.Port < 1 || s.Port > 65535 {
			return fmt.Errorf("port %d: want 1-65535", s.Port)
		}
	}
	if s.Weight < 1 || s.Weight > maxNum {
		return fmt.Errorf("weight %d: want 1-%d", s.Weight, maxNum)
	}
	if strings.ContainsRune(s.Name, ' ') || hasControl(s.Name) {
		return fmt.Errorf("name %s: no spaces or control characters", quote(s.Name))
	}
	return nil
}
