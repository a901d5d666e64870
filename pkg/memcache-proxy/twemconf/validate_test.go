package twemconf

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Defaults as twemproxy documents them (README "Configuration") and sets
// them (nc_conf.h CONF_DEFAULT_*).
func TestDefaultPool(t *testing.T) {
	p := DefaultPool()
	want := Pool{
		Name: "default", Hash: "fnv1a_64", Distribution: "ketama", Timeout: 0, Backlog: 512,
		ClientConnections: 0, TCPKeepalive: false, Preconnect: false, AutoEjectHosts: false,
		ServerConnections: 1, ServerRetryTimeout: 30 * time.Second, ServerFailureLimit: 2,
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("DefaultPool() = %+v, want %+v", p, want)
	}
	if err := p.Validate(); err == nil || err.Error() != `pool "default": listen: missing` {
		t.Errorf("DefaultPool without listen: %v", err)
	}
	p.Listen, _ = ParseListen("127.0.0.1:11211")
	s, _ := ParseServerFlag("127.0.0.1:11212")
	p.Servers = []Server{s}
	if err := p.Validate(); err != nil {
		t.Errorf("DefaultPool with listen and a server: %v", err)
	}
	// The package's lists are copies.
	Hashes()[0] = "x"
	Distributions()[0] = "x"
	if Hashes()[0] != "one_at_a_time" || Distributions()[0] != "ketama" {
		t.Error("Hashes or Distributions can be changed by a caller")
	}
}

func validPool() Pool {
	p := DefaultPool()
	p.Listen = Listen{Host: "127.0.0.1", Port: 11211}
	p.Servers = []Server{{Host: "10.0.0.1", Port: 11211, Weight: 1}, {Host: "10.0.0.2", Port: 11211, Weight: 1}}
	return p
}

var validateTests = []struct {
	name string
	f    func(*Pool)
	key  string // "" with err "": valid
	err  string
}{
	{name: "valid", f: func(*Pool) {}},
	{name: "unix listen and server", f: func(p *Pool) {
		p.Listen = Listen{Path: "/run/p.sock", Perm: 0o660}
		p.Servers = append(p.Servers, Server{Path: "/run/mc.sock", Weight: 3, Name: "local"})
	}},
	{name: "every hash and distribution", f: func(p *Pool) { p.Hash, p.Distribution = "jenkins", "random" }},
	{name: "hash tag", f: func(p *Pool) { p.HashTag = "$$" }},
	{name: "zeros allowed", f: func(p *Pool) {
		p.Timeout, p.Backlog, p.ClientConnections, p.ServerRetryTimeout, p.ServerFailureLimit = 0, 0, 0, 0, 0
	}},
	{name: "sub-millisecond timeout", f: func(p *Pool) { p.Timeout = 1500 * time.Microsecond }},
	{name: "same address, different names", f: func(p *Pool) {
		p.Servers = []Server{{Host: "10.0.0.1", Port: 11211, Weight: 1, Name: "a"}, {Host: "10.0.0.1", Port: 11211, Weight: 1, Name: "b"}}
	}},

	{name: "no name", f: func(p *Pool) { p.Name = "" }, err: "empty pool name"},
	{name: "no listen", f: func(p *Pool) { p.Listen = Listen{} }, key: "listen", err: "missing"},
	{name: "listen port", f: func(p *Pool) { p.Listen.Port = 0 }, key: "listen", err: "port 0: want 1-65535"},
	{name: "listen host", f: func(p *Pool) { p.Listen.Host = "a b" }, key: "listen", err: `host "a b"`},
	{name: "listen perm on tcp", f: func(p *Pool) { p.Listen.Perm = 0o600 }, key: "listen", err: "unix socket only"},
	{name: "listen both", f: func(p *Pool) { p.Listen.Path = "/run/p.sock" }, key: "listen", err: "no host or port"},
	{name: "listen perm too wide", f: func(p *Pool) { p.Listen = Listen{Path: "/run/p.sock", Perm: 0o1777} }, key: "listen", err: "at most 0777"},
	{name: "listen relative", f: func(p *Pool) { p.Listen = Listen{Path: "p.sock"} }, key: "listen", err: "want an absolute path"},
	{name: "hash", f: func(p *Pool) { p.Hash = "fnv1a" }, key: "hash", err: `"fnv1a": want one of one_at_a_time, md5, crc16, crc32, crc32a, fnv1_64, fnv1a_64, fnv1_32, fnv1a_32, hsieh, murmur, jenkins`},
	{name: "empty hash", f: func(p *Pool) { p.Hash = "" }, key: "hash", err: `"": want one of`},
	{name: "hash tag", f: func(p *Pool) { p.HashTag = "{" }, key: "hash_tag", err: "exactly two bytes"},
	{name: "distribution", f: func(p *Pool) { p.Distribution = "consistent" }, key: "distribution", err: `"consistent": want one of ketama, modula, random`},
	{name: "timeout", f: func(p *Pool) { p.Timeout = -time.Millisecond }, key: "timeout", err: "must be at least 0 (got -1000000)"},
	{name: "backlog", f: func(p *Pool) { p.Backlog = -1 }, key: "backlog", err: "must be at least 0 (got -1)"},
	{name: "client_connections", f: func(p *Pool) { p.ClientConnections = -1 }, key: "client_connections", err: "must be at least 0"},
	{name: "server_connections", f: func(p *Pool) { p.ServerConnections = 0 }, key: "server_connections", err: "must be at least 1 (got 0)"},
	{name: "server_retry_timeout", f: func(p *Pool) { p.ServerRetryTimeout = -1 }, key: "server_retry_timeout", err: "must be at least 0"},
	{name: "server_failure_limit", f: func(p *Pool) { p.ServerFailureLimit = -1 }, key: "server_failure_limit", err: "must be at least 0"},
	{name: "no servers", f: func(p *Pool) { p.Servers = nil }, key: "servers", err: "no servers"},
	{name: "server weight", f: func(p *Pool) { p.Servers[1].Weight = 0 }, key: "servers", err: `server "10.0.0.2:11211:0": weight 0: want 1-2147483647`},
	{name: "server port", f: func(p *Pool) { p.Servers[1].Port = 70000 }, key: "servers", err: "port 70000"},
	{name: "server host", f: func(p *Pool) { p.Servers[1].Host = "" }, key: "servers", err: "empty host"},
	{name: "server both", f: func(p *Pool) { p.Servers[1].Path = "/run/mc.sock" }, key: "servers", err: "no host or port"},
	{name: "server path colon", f: func(p *Pool) { p.Servers[1] = Server{Path: "/run/a:b", Weight: 1} }, key: "servers", err: "cannot hold ':'"},
	{name: "server name space", f: func(p *Pool) { p.Servers[1].Name = "a b" }, key: "servers", err: `name "a b": no spaces`},
	{name: "duplicate ring name", f: func(p *Pool) { p.Servers[1].Host = "10.0.0.1" }, key: "servers",
		err: `server "10.0.0.1:11211:1" has the name "10.0.0.1" of server "10.0.0.1:11211:1"`},
	{name: "duplicate names", f: func(p *Pool) { p.Servers[0].Name, p.Servers[1].Name = "x", "x" }, key: "servers", err: `has the name "x"`},
}

func TestValidate(t *testing.T) {
	for _, tt := range validateTests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPool()
			tt.f(&p)
			err := p.Validate()
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.err)
			}
			e, ok := errors.AsType[*Error](err)
			if !ok || e.Key != tt.key || e.Pool != p.Name || e.File != "" {
				t.Errorf("error %#v, want *Error for key %q", err, tt.key)
			}
			if !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %q, want it to contain %q", err, tt.err)
			}
		})
	}
}

func TestValidatePools(t *testing.T) {
	a, b := validPool(), validPool()
	a.Name, b.Name = "a", "b"
	b.Listen.Port = 11212
	if err := ValidatePools([]Pool{a, b}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		pools func() []Pool
		err   string
	}{
		{"none", func() []Pool { return nil }, "no pools"},
		{"invalid pool", func() []Pool { b := b; b.Distribution = "x"; return []Pool{a, b} }, `pool "b": distribution: "x": want one of ketama, modula, random`},
		{"same name", func() []Pool { b := b; b.Name = "a"; return []Pool{a, b} }, `pool "a": pool defined twice (first as pool 1)`},
		{"same listen", func() []Pool { b := b; b.Listen = a.Listen; return []Pool{a, b} }, `pool "b": listen: "127.0.0.1:11211" is pool "a"'s listen address too`},
		{"same listen written differently", func() []Pool {
			a, b := a, b
			a.Listen, _ = ParseListen("::1:11211")
			b.Listen, _ = ParseListen("[::1]:011211")
			return []Pool{a, b}
		}, `pool "b": listen: "[::1]:011211" is pool "a"'s listen address too`},
		{"same socket", func() []Pool {
			a, b := a, b
			a.Listen, _ = ParseListen("/run/p.sock")
			b.Listen, _ = ParseListen("/run/p.sock 0600")
			return []Pool{a, b}
		}, `pool "b": listen: "/run/p.sock 0600" is pool "a"'s listen address too`},
	} {
		err := ValidatePools(tt.pools())
		if err == nil || err.Error() != tt.err {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.err)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	base := errors.New("bad")
	for _, tt := range []struct {
		e          *Error
		text, flag string
	}{
		{&Error{File: "n.yml", Line: 3, Pool: "a", Key: "server_connections", Err: base}, `n.yml:3: pool "a": server_connections: bad`, "--server-connections"},
		{&Error{File: "n.yml", Err: base}, "n.yml: bad", ""},
		{&Error{Pool: "default", Key: "servers", Err: base}, `pool "default": servers: bad`, "--server"},
		{&Error{Key: "hash_tag", Err: base}, "hash_tag: bad", "--hash-tag"},
		{&Error{Key: "auto_eject_hosts", Err: base}, "auto_eject_hosts: bad", "--auto-eject-hosts"},
		{&Error{Pool: "a\nb", Err: base}, `pool "a\nb": bad`, ""},
	} {
		if got := tt.e.Error(); got != tt.text {
			t.Errorf("Error() = %q, want %q", got, tt.text)
		}
		if got := tt.e.Flag(); got != tt.flag {
			t.Errorf("Flag() = %q, want %q", got, tt.flag)
		}
		if !errors.Is(tt.e, base) {
			t.Errorf("%v does not unwrap", tt.e)
		}
	}
	if q := quote(strings.Repeat("x", 100)); len(q) != 64+2+3 {
		t.Errorf("quote of 100 bytes: %q", q)
	}
}
