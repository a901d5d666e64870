// Package twemconf is the configuration layer of podkit memcache-proxy, the
// ambassador pattern (Burns & Oppenheimer 2016, section 4.2): it reads a
// twemproxy (nutcracker 0.5) YAML pool file as it is, parses twemproxy's
// server-line syntax for flags, and validates the result into [Pool] values
// that the proxy core and its hashing code consume. It replaces the
// configuration parser of twemproxy (src/nc_conf.c) and keeps its keys,
// defaults and rejections; README.md lists every key and each difference.
//
// The package does no I/O beyond reading the file it is given: host names are
// not resolved (nutcracker resolves listen addresses at config time; podkit
// finds out when it binds) and nothing is dialled.
package twemconf

import (
	"fmt"
	"io/fs"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Pool is one server pool: a listen address and the memcached servers whose
// keys it shards. Every field has twemproxy's meaning; a Pool read from a file
// has twemproxy's defaults filled in, and [DefaultPool] returns them for
// callers that build a Pool from flags.
type Pool struct {
	Name   string // the pool's key in the file; DefaultPoolName from flags
	Listen Listen

	Hash         string        // one of Hashes(); key hashing function
	HashTag      string        // "" or exactly two bytes, e.g. "{}"
	Distribution string        // one of Distributions()
	Timeout      time.Duration // server connect/response timeout; 0: none (wait forever)
	Backlog      int           // listen(2) backlog

	// ClientConnections is read and checked as twemproxy does, and, as in
	// nutcracker 0.5.0, not enforced (nutcracker overwrites it with 0,
	// "unlimited", whatever the file says). Parse adds a warning when it is
	// set to anything else.
	ClientConnections int

	TCPKeepalive       bool          // SO_KEEPALIVE on server connections
	Preconnect         bool          // connect to every server at start
	AutoEjectHosts     bool          // eject a server after ServerFailureLimit consecutive failures
	ServerConnections  int           // connections per server, >= 1
	ServerRetryTimeout time.Duration // how long an ejected server stays out
	ServerFailureLimit int           // consecutive failures that eject a server

	Servers []Server // in the file's order, which the hashing depends on
}

// Listen is where a pool accepts clients: a TCP host and port, or a unix
// socket path with optional permissions.
type Listen struct {
	Host string      // TCP: host name or IP address (IPv6 without brackets); "" for a unix socket
	Port int         // TCP: 1-65535; 0 for a unix socket
	Path string      // unix socket: absolute path; "" for TCP
	Perm fs.FileMode // unix socket: permissions to chmod the socket to; 0 leaves them as created (umask)
	Spec string      // as written: "127.0.0.1:22121", "/run/mc.sock 0666"
}

// Network is "unix" for a socket path, else "tcp", for net.Listen.
func (l Listen) Network() string {
	if l.Path != "" {
		return "unix"
	}
	return "tcp"
}

// Addr is the address for net.Listen: "host:port" (IPv6 in brackets) or the
// socket path.
func (l Listen) Addr() string {
	if l.Path != "" {
		return l.Path
	}
	return net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
}

func (l Listen) String() string {
	if l.Spec != "" {
		return l.Spec
	}
	if l.Path != "" && l.Perm != 0 {
		return fmt.Sprintf("%s %04o", l.Path, uint32(l.Perm))
	}
	return l.Addr()
}

// Server is one memcached server of a pool, from a twemproxy server line
// "HOST:PORT:WEIGHT [NAME]" or "/PATH:WEIGHT [NAME]".
type Server struct {
	Host   string // host name or IP address (IPv6 without brackets); "" for a unix socket
	Port   int    // 1-65535; 0 for a unix socket
	Path   string // unix socket path; "" for TCP
	Weight int    // >= 1; its share of the ketama continuum
	Name   string // the optional NAME as given; "" when there is none
	Spec   string // the line as given, for messages

	// port is the port as written: twemproxy hashes that text, so
	// "h:011212:1" sits on the continuum as "h:011212", not "h:11212".
	port string
}

// Network is "unix" for a socket path, else "tcp", for net.Dial.
func (s Server) Network() string {
	if s.Path != "" {
		return "unix"
	}
	return "tcp"
}

// Addr is the address for net.Dial: "host:port" (IPv6 in brackets) or the
// socket path.
func (s Server) Addr() string {
	if s.Path != "" {
		return s.Path
	}
	return net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
}

// RingName is the server's name in twemproxy: the key its ketama points are
// built from (nc_ketama.c hashes "RINGNAME-N"), the name that must be unique
// in a pool, and the server's key in nutcracker's stats. It is NAME when the
// line has one; else "HOST" when the port is 11211 (libmemcached
// compatibility), else "HOST:PORT" with the port as written; for a unix
// socket without a name it is the path followed by ":". Checked against
// nutcracker 0.5.0's stats output.
func (s Server) RingName() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Path != "":
		return s.Path + ":"
	case s.Port == ketamaDefaultPort:
		return s.Host
	}
	p := s.port
	if p == "" {
		p = strconv.Itoa(s.Port)
	}
	return s.Host + ":" + p
}

func (s Server) String() string {
	if s.Spec != "" {
		return s.Spec
	}
	if s.Name != "" {
		return fmt.Sprintf("%s:%d %s", s.Addr(), s.Weight, s.Name)
	}
	return fmt.Sprintf("%s:%d", s.Addr(), s.Weight)
}

// ketamaDefaultPort is the port twemproxy leaves out of a server's ring name
// (CONF_DEFAULT_KETAMA_PORT).
const ketamaDefaultPort = 11211

// Defaults, twemproxy's (nc_conf.h CONF_DEFAULT_*, and nutcracker 0.5.0's
// README): README.md gives the evidence.
const (
	DefaultHash                             = "fnv1a_64"
	DefaultDistribution                     = "ketama"
	DefaultTimeout            time.Duration = 0 // none: wait forever (CONF_DEFAULT_TIMEOUT -1)
	DefaultBacklog                          = 512
	DefaultClientConnections                = 0 // unlimited
	DefaultServerConnections                = 1
	DefaultServerRetryTimeout               = 30 * time.Second
	DefaultServerFailureLimit               = 2
	// DefaultPoolName names the single pool built from flags.
	DefaultPoolName = "default"
)

// MaxFileSize bounds a configuration file. nutcracker's own example is under
// 2 KiB; a pool of a thousand servers is about 30 KiB.
const MaxFileSize = 1 << 20

// Limits twemproxy's int fields impose: nutcracker parses numbers into a C
// int and wraps past this silently; podkit rejects them.
const maxNum = 1<<31 - 1

var hashes = []string{"one_at_a_time", "md5", "crc16", "crc32", "crc32a", "fnv1_64", "fnv1a_64",
	"fnv1_32", "fnv1a_32", "hsieh", "murmur", "jenkins"}

var distributions = []string{"ketama", "modula", "random"}

// Hashes returns the hash names twemproxy 0.5 accepts, in its order
// (HASH_CODEC in nc_hashkit.h).
func Hashes() []string { return slices.Clone(hashes) }

// Distributions returns the distribution names twemproxy 0.5 accepts.
func Distributions() []string { return slices.Clone(distributions) }

// DefaultPool returns a pool with every setting at twemproxy's default and
// Name DefaultPoolName; the caller sets Listen and Servers.
func DefaultPool() Pool {
	return Pool{
		Name:               DefaultPoolName,
		Hash:               DefaultHash,
		Distribution:       DefaultDistribution,
		Timeout:            DefaultTimeout,
		Backlog:            DefaultBacklog,
		ClientConnections:  DefaultClientConnections,
		ServerConnections:  DefaultServerConnections,
		ServerRetryTimeout: DefaultServerRetryTimeout,
		ServerFailureLimit: DefaultServerFailureLimit,
	}
}

// Config is a parsed configuration file.
type Config struct {
	File     string // as given to Parse or ReadFile
	Pools    []Pool // in the file's order
	Warnings []string
}

// Select returns the pools to run: all of them for name "" (twemproxy runs
// every pool of its file, each on its own listen address), else the one
// named, or an error wrapping ErrNoSuchPool that lists the names.
func (c *Config) Select(name string) ([]Pool, error) {
	if name == "" {
		return slices.Clone(c.Pools), nil
	}
	names := make([]string, 0, len(c.Pools))
	for _, p := range c.Pools {
		if p.Name == name {
			return []Pool{p}, nil
		}
		names = append(names, strconv.Quote(p.Name))
	}
	return nil, &Error{File: c.File, Err: fmt.Errorf("%w %q (the file has %s)", ErrNoSuchPool, name, strings.Join(names, ", "))}
}
