package twemconf

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strconv"
	"strings"
)

// maxSocketPath is the longest unix socket path nutcracker accepts
// (nc_resolve_unix: shorter than sun_path's 108 bytes).
const maxSocketPath = 107

// ParseServer parses a server line of a twemproxy configuration file:
//
//	HOST:PORT:WEIGHT [NAME]
//	/PATH:WEIGHT [NAME]
//
// read from the right as twemproxy does (conf_add_server): NAME follows the
// last space, WEIGHT the last colon, PORT the colon before it, so an IPv6
// address is written without brackets ("::1:11211:1"). Where twemproxy would
// accept a line and then fail to connect (an empty host, a host that is
// neither a name nor an address, a number past a C int), ParseServer returns
// an error instead. Errors are *Error with Key "servers".
func ParseServer(line string) (Server, error) { return parseServer(line, false) }

// ParseServerFlag parses the --server form of a server line, twemproxy's with
// two additions for typing it by hand: the weight is optional (default 1) and
// an IPv6 address is written in brackets:
//
//	HOST:PORT[:WEIGHT][ NAME]
//	[IPV6]:PORT[:WEIGHT][ NAME]
//	/PATH[:WEIGHT][ NAME]
//
// An unbracketed IPv6 address is an error here: "::1:11211" would otherwise
// read as host "::", port 1, weight 11211. A server parsed either way hashes
// the same: "[::1]:11212:1" and twemproxy's "::1:11212:1" both have ring name
// "::1:11212".
func ParseServerFlag(s string) (Server, error) { return parseServer(s, true) }

func parseServer(line string, flag bool) (Server, error) {
	srv, err := parseServerLine(line, flag)
	if err != nil {
		return Server{}, &Error{Key: "servers", Err: err}
	}
	return srv, nil
}

func parseServerLine(line string, flag bool) (Server, error) {
	want := `want "HOST:PORT:WEIGHT [NAME]" or "/PATH:WEIGHT [NAME]"`
	if flag {
		want = `want "HOST:PORT[:WEIGHT][ NAME]" or "/PATH[:WEIGHT][ NAME]"`
	}
	srv := Server{Spec: line, Weight: 1}
	if line == "" {
		return Server{}, fmt.Errorf("empty server line; %s", want)
	}
	addr := line
	if i := strings.LastIndexByte(line, ' '); i >= 0 {
		addr, srv.Name = line[:i], line[i+1:]
		if srv.Name == "" {
			return Server{}, fmt.Errorf("server %s: empty NAME after the space", quote(line))
		}
		if hasControl(srv.Name) {
			return Server{}, fmt.Errorf("server %s: NAME has a control character", quote(line))
		}
	}

	var weight, port string
	hasWeight := false
	switch {
	case strings.HasPrefix(addr, "/"):
		if i := strings.LastIndexByte(addr, ':'); i >= 0 {
			srv.Path, weight, hasWeight = addr[:i], addr[i+1:], true
		} else {
			srv.Path = addr
		}
		if !hasWeight && !flag {
			return Server{}, fmt.Errorf("server %s: no weight; %s", quote(line), want)
		}
		if strings.Contains(srv.Path, ":") {
			return Server{}, fmt.Errorf("server %s: a socket path cannot hold ':' (twemproxy reads what follows as a port)", quote(line))
		}
		if err := checkPath(srv.Path); err != nil {
			return Server{}, fmt.Errorf("server %s: %w", quote(line), err)
		}
	case flag && strings.HasPrefix(addr, "["):
		end := strings.IndexByte(addr, ']')
		if end < 0 || end+1 >= len(addr) || addr[end+1] != ':' {
			return Server{}, fmt.Errorf("server %s: want [IPV6]:PORT[:WEIGHT]", quote(line))
		}
		srv.Host = addr[1:end]
		if a, err := netip.ParseAddr(srv.Host); err != nil || !a.Is6() {
			return Server{}, fmt.Errorf("server %s: %s in brackets is not an IPv6 address", quote(line), quote(srv.Host))
		}
		port, weight, hasWeight = strings.Cut(addr[end+2:], ":")
		if err := checkHost(srv.Host); err != nil {
			return Server{}, fmt.Errorf("server %s: %w", quote(line), err)
		}
	default:
		n := strings.Count(addr, ":")
		switch {
		case n == 0 || n == 1 && !flag:
			return Server{}, fmt.Errorf("server %s: %s", quote(line), want)
		case n == 1:
			srv.Host, port, _ = strings.Cut(addr, ":")
		case n > 2 && flag:
			return Server{}, fmt.Errorf("server %s: write an IPv6 address in brackets: [::1]:11211[:WEIGHT]", quote(line))
		default:
			i := strings.LastIndexByte(addr, ':')
			weight, hasWeight = addr[i+1:], true
			j := strings.LastIndexByte(addr[:i], ':')
			srv.Host, port = addr[:j], addr[j+1:i]
		}
		if strings.ContainsAny(srv.Host, "[]") {
			return Server{}, fmt.Errorf("server %s: twemproxy writes an IPv6 address without brackets (::1:11211:1)", quote(line))
		}
		if err := checkHost(srv.Host); err != nil {
			return Server{}, fmt.Errorf("server %s: %w", quote(line), err)
		}
	}

	if srv.Path == "" {
		p, err := parsePort(port)
		if err != nil {
			return Server{}, fmt.Errorf("server %s: %w", quote(line), err)
		}
		srv.Port, srv.port = p, port
	}
	if hasWeight {
		w, err := parseNum(weight)
		if err != nil {
			return Server{}, fmt.Errorf("server %s: weight %w", quote(line), err)
		}
		if w == 0 {
			return Server{}, fmt.Errorf("server %s: weight must be at least 1", quote(line))
		}
		srv.Weight = w
	}
	return srv, nil
}

// ParseListen parses a listen address as twemproxy's conf_set_listen does:
//
//	HOST:PORT
//	/PATH [PERM]
//
// PORT follows the last colon, so an IPv6 address may be written bare
// ("::1:22121", twemproxy's form) or in brackets ("[::1]:22121", which
// nutcracker cannot resolve but podkit accepts). PERM is octal, at most 0777;
// twemproxy reads it with strtol and takes garbage as 0, podkit rejects it.
// Errors are *Error with Key "listen".
func ParseListen(s string) (Listen, error) {
	l, err := parseListen(s)
	if err != nil {
		return Listen{}, &Error{Key: "listen", Err: err}
	}
	return l, nil
}

func parseListen(s string) (Listen, error) {
	l := Listen{Spec: s}
	if s == "" {
		return Listen{}, errors.New(`empty; want "HOST:PORT" or "/PATH [PERM]"`)
	}
	if s[0] == '/' {
		l.Path = s
		if i := strings.LastIndexByte(s, ' '); i >= 0 {
			perm := s[i+1:]
			l.Path = s[:i]
			v, err := strconv.ParseUint(perm, 8, 32)
			if err != nil || perm[0] == '+' || v > 0o777 {
				return Listen{}, fmt.Errorf("%s: permissions %s: want octal, at most 0777 (a path with spaces needs permissions after it)", quote(s), quote(perm))
			}
			l.Perm = fs.FileMode(v)
		}
		if err := checkPath(l.Path); err != nil {
			return Listen{}, fmt.Errorf("%s: %w", quote(s), err)
		}
		return l, nil
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return Listen{}, fmt.Errorf(`%s: want "HOST:PORT" or "/PATH [PERM]"`, quote(s))
	}
	host, port := s[:i], s[i+1:]
	if len(host) > 2 && host[0] == '[' && host[len(host)-1] == ']' {
		inner := host[1 : len(host)-1]
		if a, err := netip.ParseAddr(inner); err == nil && a.Is6() && strings.Contains(inner, ":") {
			host = inner
		}
	}
	if err := checkHost(host); err != nil {
		return Listen{}, fmt.Errorf("%s: %w", quote(s), err)
	}
	p, err := parsePort(port)
	if err != nil {
		return Listen{}, fmt.Errorf("%s: %w", quote(s), err)
	}
	l.Host, l.Port = host, p
	return l, nil
}

// parseNum reads a number as twemproxy's nc_atoi does (ASCII digits only: no
// sign, space or base prefix; leading zeros are fine) but rejects values past
// a C int, which nutcracker wraps silently.
func parseNum(s string) (int, error) {
	if s == "" {
		return 0, errors.New(`"": want a whole number`)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%s: want a whole number", quote(s))
		}
		n = n*10 + int(c-'0')
		if n > maxNum {
			return 0, fmt.Errorf("%s: out of range (at most %d)", quote(s), maxNum)
		}
	}
	return n, nil
}

func parsePort(s string) (int, error) {
	p, err := parseNum(s)
	if err != nil {
		return 0, fmt.Errorf("port %w", err)
	}
	if p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %s: want 1-65535", quote(s))
	}
	return p, nil
}

// checkHost accepts an IP address or a host name made of letters, digits,
// '.', '-' and '_'. nutcracker resolves server hosts lazily, so it takes
// anything here and fails on connect; podkit says so at start.
func checkHost(h string) error {
	if h == "" {
		return errors.New("empty host")
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return nil
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("host %s: want a host name or an IP address", quote(h))
		}
	}
	return nil
}

func checkPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("socket path %s: want an absolute path", quote(p))
	case len(p) > maxSocketPath:
		return fmt.Errorf("socket path is %d bytes; at most %d fit in sun_path", len(p), maxSocketPath)
	case hasControl(p):
		return fmt.Errorf("socket path %s has a control character", quote(p))
	}
	return nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}
