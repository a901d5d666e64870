package twemconf

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// What nutcracker 0.5.0's `nutcracker -t` says of a case, relative to podkit;
// TestNutcrackerAgrees checks every case against it.
type ncVerdict int

const (
	ncAgrees  ncVerdict = iota // nutcracker accepts exactly when podkit does
	ncAccepts                  // podkit rejects what nutcracker accepts: an unsupported key, or a value nutcracker cannot run with
	ncRejects                  // podkit accepts what nutcracker rejects (it resolves listen hosts; it cannot parse [IPv6])
)

// A pool of one server with listen on line 2 and one more key on line 3.
const (
	head = "a:\n  listen: 127.0.0.1:22121\n"
	tail = "  servers:\n   - 127.0.0.1:11211:1\n"
)

func withKey(kv string) string    { return head + "  " + kv + "\n" + tail }
func withServers(s string) string { return head + "  servers:\n" + s }
func withListen(l string) string  { return "a:\n  listen: " + l + "\n" + tail }

func servers(lines ...string) []Server {
	var out []Server
	for _, l := range lines {
		s, err := ParseServer(l)
		if err != nil {
			panic(err)
		}
		out = append(out, s)
	}
	return out
}

// pool returns the default pool "a" on 127.0.0.1:22121 with server
// 127.0.0.1:11211:1, changed by f.
func pool(f func(*Pool)) Pool {
	p := DefaultPool()
	p.Name = "a"
	p.Listen = Listen{Host: "127.0.0.1", Port: 22121, Spec: "127.0.0.1:22121"}
	p.Servers = servers("127.0.0.1:11211:1")
	if f != nil {
		f(&p)
	}
	return p
}

var parseTests = []struct {
	name string
	in   string
	want []Pool // when err == ""; nil: not compared
	err  string // substring of the error
	line int    // the error's line
	is   error  // a sentinel the error wraps
	nc   ncVerdict
}{
	{name: "minimal", in: head + tail, want: []Pool{pool(nil)}},
	{name: "all keys", in: `cache:
  listen: 127.0.0.1:22121
  hash: md5
  hash_tag: "{}"
  distribution: modula
  timeout: 400
  backlog: 1024
  client_connections: 0
  tcpkeepalive: true
  preconnect: true
  auto_eject_hosts: true
  server_connections: 2
  server_retry_timeout: 2000
  server_failure_limit: 3
  redis: false
  redis_db: 0
  servers:
   - 10.0.0.1:11211:1 one
   - 10.0.0.2:11212:2 two
`, want: []Pool{{
		Name: "cache", Listen: Listen{Host: "127.0.0.1", Port: 22121, Spec: "127.0.0.1:22121"},
		Hash: "md5", HashTag: "{}", Distribution: "modula", Timeout: 400 * time.Millisecond, Backlog: 1024,
		TCPKeepalive: true, Preconnect: true, AutoEjectHosts: true, ServerConnections: 2,
		ServerRetryTimeout: 2 * time.Second, ServerFailureLimit: 3,
		Servers: servers("10.0.0.1:11211:1 one", "10.0.0.2:11212:2 two"),
	}}},
	{name: "quoted keys and values", in: "\"a\":\n  'listen': \"127.0.0.1:22121\"\n  timeout: \"400\"\n" + tail,
		want: []Pool{pool(func(p *Pool) { p.Timeout = 400 * time.Millisecond })}},
	{name: "leading zeros", in: withKey("timeout: 0400"), want: []Pool{pool(func(p *Pool) { p.Timeout = 400 * time.Millisecond })}},
	{name: "timeout 0 is none", in: withKey("timeout: 0"), want: []Pool{pool(nil)}},
	{name: "largest number", in: withKey("timeout: 2147483647"), want: []Pool{pool(func(p *Pool) { p.Timeout = 2147483647 * time.Millisecond })}},
	{name: "zero counts", in: head + "  backlog: 0\n  server_failure_limit: 0\n  server_retry_timeout: 0\n" + tail,
		want: []Pool{pool(func(p *Pool) { p.Backlog, p.ServerFailureLimit, p.ServerRetryTimeout = 0, 0, 0 })}},
	{name: "hash tag of two bytes", in: withKey("hash_tag: é"), want: []Pool{pool(func(p *Pool) { p.HashTag = "é" })}},
	{name: "random distribution", in: withKey("distribution: random"), want: []Pool{pool(func(p *Pool) { p.Distribution = "random" })}},
	{name: "tcpkeepalive", in: withKey("tcpkeepalive: true"), want: []Pool{pool(func(p *Pool) { p.TCPKeepalive = true })}},
	{name: "client_connections", in: withKey("client_connections: 10"), want: []Pool{pool(func(p *Pool) { p.ClientConnections = 10 })}},
	{name: "comments", in: "# pools\na: # the pool\n  listen: 127.0.0.1:22121 # clients\n\n  servers: # list\n   - 127.0.0.1:11211:1 # one\n# end\n",
		want: []Pool{pool(nil)}},
	{name: "CRLF", in: strings.ReplaceAll(head+tail, "\n", "\r\n"), want: []Pool{pool(nil)}},
	{name: "byte order mark", in: "\ufeff" + head + tail, want: []Pool{pool(nil)}},
	{name: "explicit key", in: "? a\n:\n  listen: 127.0.0.1:22121\n" + tail, want: []Pool{pool(nil)}},
	{name: "literal block without newline", in: "a:\n  listen: |-\n    127.0.0.1:22121\n" + tail, want: []Pool{pool(nil)}},
	{name: "servers before listen", in: "a:\n" + tail + "  listen: 127.0.0.1:22121\n", want: []Pool{pool(nil)}},
	{name: "unindented list", in: head + "  servers:\n  - 127.0.0.1:11211:1\n", want: []Pool{pool(nil)}},
	{name: "two pools", in: head + tail + "b:\n  listen: 127.0.0.1:22122\n  servers:\n   - 127.0.0.1:11212:1\n", want: []Pool{pool(nil), pool(func(p *Pool) {
		p.Name = "b"
		p.Listen = Listen{Host: "127.0.0.1", Port: 22122, Spec: "127.0.0.1:22122"}
		p.Servers = servers("127.0.0.1:11212:1")
	})}},
	{name: "pool names are any text", in: "\"my pool\":\n  listen: 127.0.0.1:22121\n" + tail + "1:\n  listen: 127.0.0.1:22122\n" + tail},
	{name: "unix listen", in: withListen("/tmp/podkit-twemconf.sock"), want: []Pool{pool(func(p *Pool) {
		p.Listen = Listen{Path: "/tmp/podkit-twemconf.sock", Spec: "/tmp/podkit-twemconf.sock"}
	})}},
	{name: "unix listen with permissions", in: withListen("/tmp/podkit-twemconf.sock 0666"), want: []Pool{pool(func(p *Pool) {
		p.Listen = Listen{Path: "/tmp/podkit-twemconf.sock", Perm: 0o666, Spec: "/tmp/podkit-twemconf.sock 0666"}
	})}},
	{name: "unix listen, permissions without 0", in: withListen("/tmp/podkit-twemconf.sock 660")},
	{name: "IPv6 listen", in: withListen("::1:22121"), want: []Pool{pool(func(p *Pool) {
		p.Listen = Listen{Host: "::1", Port: 22121, Spec: "::1:22121"}
	})}},
	{name: "host name listen", in: withListen("localhost:22121")},
	{name: "listen in brackets", in: withListen(`"[::1]:22121"`), nc: ncRejects},
	{name: "listen host not resolved", in: withListen("no-such-host.invalid:22121"), nc: ncRejects},
	{name: "server kinds", in: withServers(`   - 127.0.0.1:65535:1
   - 127.0.0.1:011211:1 zero
   - ::1:11211:1
   - "::1:11212:1"
   - localhost:11213:100000
   - no-such-host.invalid:11211:1
   - /tmp/podkit-twemconf-mc.sock:1
   - /tmp/podkit-twemconf-mc2.sock:1 sock
   - 127.0.0.1:11214:1 a:b
   - 127.0.0.1:11215:1 x
   - 127.0.0.1:11215:1 y
`)},

	// Keys podkit does not support, and values nutcracker takes but cannot
	// run with.
	{name: "redis true", in: withKey("redis: true"), err: `pool "a": redis: true is not supported`, line: 3, is: ErrUnsupported, nc: ncAccepts},
	{name: "redis with auth", in: head + "  redis: true\n  redis_auth: hunter2\n" + tail, err: "redis: true", line: 3, is: ErrUnsupported, nc: ncAccepts},
	{name: "redis_auth first", in: head + "  redis_auth: hunter2\n  redis: true\n" + tail, err: "redis_auth: not supported", line: 3, is: ErrUnsupported, nc: ncAccepts},
	{name: "redis_auth alone", in: withKey("redis_auth: hunter2"), err: "redis_auth: not supported", line: 3, is: ErrUnsupported},
	{name: "redis_db", in: withKey("redis_db: 3"), err: "redis_db: 3 is not supported", line: 3, is: ErrUnsupported, nc: ncAccepts},
	{name: "number past int", in: withKey("timeout: 2147483648"), err: "out of range", line: 3},
	{name: "number that wraps", in: withKey("timeout: 4294967296"), err: "out of range", line: 3, nc: ncAccepts},
	{name: "number that wraps far", in: withKey("timeout: 99999999999"), err: "out of range", line: 3, nc: ncAccepts},
	{name: "weight that wraps", in: withServers("   - 127.0.0.1:11211:4294967297\n"), err: "weight \"4294967297\": out of range", line: 4, nc: ncAccepts},
	{name: "server empty host", in: withServers("   - :11211:1\n"), err: "empty host", line: 4, nc: ncAccepts},
	{name: "server host with port", in: withServers("   - 127.0.0.1:11211:1:1\n"), err: `host "127.0.0.1:11211": want a host name`, line: 4, nc: ncAccepts},
	{name: "server host with bad characters", in: withServers("   - \"mc!1:11211:1\"\n"), err: `host "mc!1"`, line: 4, nc: ncAccepts},
	{name: "server empty name", in: withServers("   - \"127.0.0.1:11211:1 \"\n"), err: "empty NAME", line: 4, nc: ncAccepts},
	{name: "server in brackets", in: withServers("   - \"[::1]:11211:1\"\n"), err: "without brackets", line: 4, nc: ncAccepts},
	{name: "server socket path too long", in: withServers("   - /tmp/" + strings.Repeat("s", 100) + ".sock:1\n"), err: "at most 107", line: 4, nc: ncAccepts},
	{name: "listen permissions garbage", in: withListen("/tmp/podkit-twemconf.sock abc"), err: `permissions "abc": want octal`, line: 2, nc: ncAccepts},
	{name: "listen permissions not octal", in: withListen("/tmp/podkit-twemconf.sock 0999"), err: `permissions "0999"`, line: 2, nc: ncAccepts},
	{name: "listen socket twice, written differently", in: "a:\n  listen: /tmp/podkit-twemconf.sock\n" + tail + "b:\n  listen: /tmp/podkit-twemconf.sock 0600\n" + tail,
		err: `pool "b": listen: "/tmp/podkit-twemconf.sock 0600" is pool "a"'s listen address too`, line: 6, nc: ncAccepts},
	{name: "listen port twice, written differently", in: head + tail + "b:\n  listen: 127.0.0.1:022121\n" + tail,
		err: `pool "b": listen: "127.0.0.1:022121" is pool "a"'s listen address too`, line: 6, nc: ncAccepts},
	{name: "listen path with a space", in: withListen(`"/tmp/podkit twemconf.sock"`), err: `permissions "twemconf.sock"`, line: 2, nc: ncAccepts},

	// What nutcracker rejects too.
	{name: "unknown key", in: withKey("foo: bar"), err: `pool "a": foo: unknown key (twemproxy 0.5 knows listen`, line: 3, is: ErrUnknownKey},
	{name: "misspelt key", in: withKey("server_connection: 2"), err: "server_connection: unknown key", line: 3, is: ErrUnknownKey},
	{name: "key twice", in: head + "  hash: md5\n  hash: md5\n" + tail, err: "hash: set twice (first at line 3)", line: 4},
	{name: "listen twice", in: head + "  listen: 127.0.0.1:22122\n" + tail, err: "listen: set twice (first at line 2)", line: 3},
	{name: "server_connections 0", in: withKey("server_connections: 0"), err: "server_connections: must be at least 1 (got 0)", line: 3},
	{name: "negative", in: withKey("timeout: -1"), err: `timeout: "-1": want a whole number of milliseconds`, line: 3},
	{name: "unit", in: withKey("timeout: 400ms"), err: `"400ms": want a whole number`, line: 3},
	{name: "plus sign", in: withKey("backlog: +400"), err: `backlog: "+400": want a whole number`, line: 3},
	{name: "hex", in: withKey("backlog: 0x10"), err: "want a whole number", line: 3},
	{name: "space in number", in: withKey(`backlog: " 400"`), err: "want a whole number", line: 3},
	{name: "null number", in: withKey("timeout: ~"), err: `"~": want a whole number`, line: 3},
	{name: "empty number", in: withKey("server_failure_limit:"), err: `server_failure_limit: "": want a whole number`, line: 3},
	{name: "True", in: withKey("preconnect: True"), err: `preconnect: "True": want true or false`, line: 3},
	{name: "yes", in: withKey("auto_eject_hosts: yes"), err: `"yes": want true or false`, line: 3},
	{name: "bad tcpkeepalive", in: withKey("tcpkeepalive: 1"), err: `tcpkeepalive: "1": want true or false`, line: 3},
	{name: "bad redis", in: withKey("redis: no"), err: `redis: "no": want true or false`, line: 3},
	{name: "bad redis_db", in: withKey("redis_db: x"), err: `redis_db: "x": want a whole number`, line: 3},
	{name: "bad client_connections", in: withKey("client_connections: -1"), err: "client_connections: \"-1\"", line: 3},
	{name: "unknown hash", in: withKey("hash: FNV1A_64"), err: `hash: "FNV1A_64": want one of one_at_a_time, md5,`, line: 3},
	{name: "empty hash", in: withKey("hash:"), err: `hash: "": want one of`, line: 3},
	{name: "redisarray hash", in: withKey("hash: redisarray"), err: "want one of", line: 3},
	{name: "unknown distribution", in: withKey("distribution: Ketama"), err: `distribution: "Ketama": want one of ketama, modula, random`, line: 3},
	{name: "hash tag of three", in: withKey("hash_tag: abc"), err: `hash_tag: "abc": want exactly two bytes`, line: 3},
	{name: "empty hash tag", in: withKey(`hash_tag: ""`), err: `hash_tag: "": want exactly two bytes`, line: 3},
	{name: "no listen", in: "a:\n" + tail, err: `pool "a": listen: missing`, line: 1},
	{name: "no servers", in: head, err: `pool "a": servers: no servers`, line: 1},
	{name: "servers not a list", in: head + "  servers: 127.0.0.1:11211:1\n", err: "servers: want a list", line: 3},
	{name: "servers null", in: head + "  servers:\n  hash: md5\n", err: "servers: want a list", line: 3},
	{name: "listen as a list", in: "a:\n  listen:\n   - 127.0.0.1:22121\n" + tail, err: "listen: want a single value", line: 2},
	{name: "hash as a list", in: head + "  hash:\n   - md5\n" + tail, err: "hash: want a single value", line: 3},
	{name: "nested mapping", in: head + "  x:\n    y: z\n" + tail, err: "x: want a single value", line: 3},
	{name: "server as a mapping", in: head + "  servers:\n   - a: b\n", err: "servers: want a server line", line: 4},
	{name: "empty key", in: withKey(`"": x`), err: `unknown key`, line: 3, is: ErrUnknownKey},
	{name: "null key", in: withKey("~: x"), err: `~: unknown key`, line: 3, is: ErrUnknownKey},
	{name: "empty pool name", in: "\"\":\n  listen: 127.0.0.1:22121\n" + tail, err: "empty pool name", line: 1},
	{name: "pool twice", in: head + tail + "a:\n  listen: 127.0.0.1:22122\n" + tail, err: `pool "a": pool defined twice (first at line 1)`, line: 5},
	{name: "listen twice across pools", in: head + tail + "b:\n" + "  listen: 127.0.0.1:22121\n" + tail, err: `pool "b": listen: "127.0.0.1:22121" is pool "a"'s listen address too`, line: 6},
	{name: "pool is a value", in: "a: b\n", err: `pool "a": want a mapping of keys`, line: 1},
	{name: "pool is null", in: "a:\n", err: `pool "a": want a mapping of keys`, line: 1},
	{name: "root is a list", in: "- a\n", err: "want a mapping of pool names to pools", line: 1},
	{name: "root is a value", in: "a\n", err: "want a mapping of pool names to pools", line: 1},
	{name: "empty file", in: "", err: "no pools"},
	{name: "comments only", in: "# nothing\n", err: "no pools"},
	{name: "document start", in: "---\n" + head + tail, err: "document markers", line: 1},
	{name: "document end", in: head + tail + "...\n", err: "document markers", line: 5},
	{name: "two documents", in: head + tail + "---\nb:\n  listen: 127.0.0.1:22122\n" + tail, err: "document markers", line: 5},
	{name: "directive", in: "%YAML 1.1\n---\n" + head + tail, err: "document markers", line: 2},
	{name: "flow list", in: head + "  servers: [127.0.0.1:11211:1]\n", err: "flow style", line: 3},
	{name: "flow mapping", in: "a: {listen: 127.0.0.1:22121, servers: [127.0.0.1:11211:1]}\n", err: "flow style", line: 1},
	{name: "anchor", in: "a:\n  listen: &l 127.0.0.1:22121\n" + tail, err: "anchors", line: 2},
	{name: "alias", in: head + tail + "b:\n  listen: 127.0.0.1:22122\n  hash: &h md5\n  servers:\n   - 127.0.0.1:11211:1\nc:\n  hash: *h\n", err: "anchors", line: 7},
	{name: "merge key", in: head + tail + "b: &b\n  listen: 127.0.0.1:22122\n", err: "anchors", line: 5},
	{name: "tag", in: withKey("timeout: !!int 400"), err: "tags", line: 3},
	{name: "tab indent", in: "a:\n\tlisten: 127.0.0.1:22121\n", err: "invalid YAML", line: 2},
	// The YAML library reports the line of the mapping it was reading.
	{name: "bad indentation", in: "a:\n  listen: 127.0.0.1:22121\n servers:\n", err: "invalid YAML: did not find expected key", line: 2},
	{name: "literal block keeps the newline", in: "a:\n  listen: |\n    127.0.0.1:22121\n" + tail, err: `listen: "127.0.0.1:22121\n": port "22121\n"`, line: 2},
	{name: "folded plain listen", in: "a:\n  listen: 127.0.0.1\n    :22121\n" + tail, err: `host "127.0.0.1 "`, line: 2},
	{name: "listen without port", in: withListen("127.0.0.1"), err: `listen: "127.0.0.1": want "HOST:PORT" or "/PATH [PERM]"`, line: 2},
	{name: "listen port 0", in: withListen("127.0.0.1:0"), err: `port "0": want 1-65535`, line: 2},
	{name: "listen port too big", in: withListen("127.0.0.1:70000"), err: `port "70000": want 1-65535`, line: 2},
	{name: "listen port by name", in: withListen("127.0.0.1:http"), err: `port "http": want a whole number`, line: 2},
	{name: "listen empty host", in: withListen(":22121"), err: "empty host", line: 2},
	{name: "listen relative path", in: withListen("podkit.sock"), err: `want "HOST:PORT"`, line: 2},
	{name: "listen permissions too wide", in: withListen("/tmp/podkit-twemconf.sock 01777"), err: "at most 0777", line: 2},
	{name: "listen socket path too long", in: withListen("/tmp/" + strings.Repeat("s", 100) + ".sock"), err: "at most 107", line: 2},
	{name: "server without weight", in: withServers("   - 127.0.0.1:11211\n"), err: `want "HOST:PORT:WEIGHT [NAME]"`, line: 4},
	{name: "server weight 0", in: withServers("   - 127.0.0.1:11211:0\n"), err: "weight must be at least 1", line: 4},
	{name: "server weight sign", in: withServers("   - 127.0.0.1:11211:+1\n"), err: `weight "+1": want a whole number`, line: 4},
	{name: "server weight negative", in: withServers("   - 127.0.0.1:11211:-1\n"), err: `weight "-1"`, line: 4},
	{name: "server port 0", in: withServers("   - 127.0.0.1:0:1\n"), err: `port "0": want 1-65535`, line: 4},
	{name: "server port too big", in: withServers("   - 127.0.0.1:65536:1\n"), err: `port "65536"`, line: 4},
	{name: "server name with a space", in: withServers("   - 127.0.0.1:11211:1 a b\n"), err: `weight "1 a": want a whole number`, line: 4},
	{name: "server name after a tab", in: withServers("   - \"127.0.0.1:11211:1\\tname\"\n"), err: "weight", line: 4},
	{name: "server host with a space", in: withServers("   - \"a b:11211:1\"\n"), err: `want "HOST:PORT:WEIGHT [NAME]"`, line: 4},
	{name: "server socket with a colon", in: withServers("   - /tmp/a:b:1\n"), err: "cannot hold ':'", line: 4},
	{name: "server socket with a port", in: withServers("   - /tmp/mc.sock:11211:1\n"), err: "cannot hold ':'", line: 4},
	{name: "server socket without weight", in: withServers("   - /tmp/mc.sock\n"), err: "no weight", line: 4},
	{name: "server empty", in: withServers("   -\n"), err: "empty server line", line: 4},
	{name: "server empty string", in: withServers("   - \"\"\n"), err: "empty server line", line: 4},
	{name: "server name twice", in: withServers("   - 127.0.0.1:11211:1 one\n   - 127.0.0.1:11212:1 one\n"), err: `server "127.0.0.1:11212:1 one" has the name "one" of server "127.0.0.1:11211:1 one"`, line: 5},
	{name: "server twice", in: withServers("   - 127.0.0.1:11211:1\n   - 127.0.0.1:11211:2\n"), err: `has the name "127.0.0.1"`, line: 5},
	{name: "server port as written twice", in: withServers("   - 127.0.0.1:11212:1\n   - 127.0.0.1:11212:2\n"), err: `has the name "127.0.0.1:11212"`, line: 5},
	{name: "server named like another's host", in: withServers("   - 127.0.0.1:11212:1 127.0.0.1\n   - 127.0.0.1:11211:1\n"), err: `has the name "127.0.0.1"`, line: 5},
	{name: "server named like another's host:port", in: withServers("   - 127.0.0.1:11212:1 127.0.0.1:11213\n   - 127.0.0.1:11213:1\n"), err: `has the name "127.0.0.1:11213"`, line: 5},
	{name: "first error wins", in: head + "  hash: nope\n  foo: bar\n" + tail, err: "foo: unknown key", line: 4},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("test.yml", []byte(tt.in))
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if tt.want != nil && !reflect.DeepEqual(cfg.Pools, tt.want) {
					t.Errorf("pools:\n got %+v\nwant %+v", cfg.Pools, tt.want)
				}
				if err := ValidatePools(cfg.Pools); err != nil {
					t.Errorf("ValidatePools of a parsed config: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", cfg.Pools)
			}
			if !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %q, want it to contain %q", err, tt.err)
			}
			e, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("error %T, want *Error", err)
			}
			if e.File != "test.yml" || e.Line != tt.line {
				t.Errorf("error at %s:%d, want test.yml:%d (%v)", e.File, e.Line, tt.line, err)
			}
			if tt.line > 0 && !strings.HasPrefix(err.Error(), "test.yml:"+strconv.Itoa(tt.line)+": ") {
				t.Errorf("error %q does not start with file:line", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error quotes the redis_auth secret: %v", err)
			}
		})
	}
}

func TestParseEveryHash(t *testing.T) {
	for _, h := range Hashes() {
		cfg, err := Parse("t.yml", []byte(withKey("hash: "+h)))
		if err != nil {
			t.Fatalf("hash %s: %v", h, err)
		}
		if cfg.Pools[0].Hash != h {
			t.Errorf("hash %s: got %q", h, cfg.Pools[0].Hash)
		}
	}
	if n := len(Hashes()); n != 12 {
		t.Errorf("%d hashes, twemproxy 0.5 has 12", n)
	}
}

func TestParseWarnings(t *testing.T) {
	cfg, err := Parse("t.yml", []byte(withKey("client_connections: 10")))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`t.yml:3: pool "a": client_connections: not enforced: nutcracker 0.5.0 ignores it too, so podkit keeps serving every client`}
	if !reflect.DeepEqual(cfg.Warnings, want) {
		t.Errorf("warnings %q, want %q", cfg.Warnings, want)
	}
	cfg, err = Parse("t.yml", []byte(withKey("client_connections: 0")))
	if err != nil || len(cfg.Warnings) != 0 {
		t.Errorf("client_connections 0: %v, warnings %q", err, cfg.Warnings)
	}
}

// The redis_auth value never appears in an error, whatever else is wrong.
func TestParseNeverQuotesRedisAuth(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	for _, in := range []string{
		withKey("redis_auth: " + secret),
		withKey(`redis_auth: "` + secret + `"`),
		head + "  redis_auth: " + secret + "\n  redis_auth: " + secret + "\n" + tail,
		head + "  redis: true\n  redis_auth: " + secret + "\n" + tail,
		head + "  redis_auth: " + secret + "\n  redis: true\n" + tail,
		head + "  redis_auth: " + secret + "\n\tbad: yaml\n",
		head + "  redis_auth:\n   - " + secret + "\n" + tail,
		head + "  redis_auth: &x " + secret + "\n" + tail,
		head + "  redis_auth: !!str " + secret + "\n" + tail,
		head + "  redis_auth: {" + secret + ": 1}\n" + tail,
		head + "  redis_auth: \"" + secret + "\n" + tail,
		head + "  redis_auth: " + secret + "\n" + "  redis_auth_2: " + secret + "\n" + tail,
	} {
		_, err := Parse("t.yml", []byte(in))
		if err == nil {
			t.Errorf("accepted %q", in)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error quotes the secret: %v", err)
		}
	}
}

// An equivalent of twemproxy's conf/nutcracker.yml: five pools, two of them
// redis, one on a unix socket.
func TestParseTwemproxyExample(t *testing.T) {
	_, err := ReadFile(filepath.Join("testdata", "twemproxy-example.yml"))
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `twemproxy-example.yml:8: pool "alpha": redis: true is not supported`) {
		t.Fatalf("error %v, want alpha's redis: true unsupported at line 8", err)
	}

	cfg, err := ReadFile(filepath.Join("testdata", "twemproxy-example-memcached.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %q", cfg.Warnings)
	}
	want := []Pool{{
		Name: "gamma", Listen: Listen{Host: "127.0.0.1", Port: 22123, Spec: "127.0.0.1:22123"},
		Hash: "fnv1a_64", Distribution: "ketama", Timeout: 400 * time.Millisecond, Backlog: 1024,
		Preconnect: true, AutoEjectHosts: true, ServerConnections: 1, ServerRetryTimeout: 2 * time.Second, ServerFailureLimit: 3,
		Servers: servers("127.0.0.1:11212:1", "127.0.0.1:11213:1"),
	}, {
		Name: "delta", Listen: Listen{Host: "127.0.0.1", Port: 22124, Spec: "127.0.0.1:22124"},
		Hash: "fnv1a_64", Distribution: "ketama", Timeout: 100 * time.Millisecond, Backlog: 512,
		AutoEjectHosts: true, ServerConnections: 1, ServerRetryTimeout: 2 * time.Second, ServerFailureLimit: 1,
		Servers: servers("127.0.0.1:11214:1", "127.0.0.1:11215:1", "127.0.0.1:11216:1", "127.0.0.1:11217:1", "127.0.0.1:11218:1",
			"127.0.0.1:11219:1", "127.0.0.1:11220:1", "127.0.0.1:11221:1", "127.0.0.1:11222:1", "127.0.0.1:11223:1"),
	}, {
		Name: "omega", Listen: Listen{Path: "/tmp/gamma", Perm: 0o666, Spec: "/tmp/gamma 0666"},
		Hash: "hsieh", Distribution: "ketama", Backlog: 512,
		ServerConnections: 1, ServerRetryTimeout: 30 * time.Second, ServerFailureLimit: 2,
		Servers: servers("127.0.0.1:11214:100000", "127.0.0.1:11215:1"),
	}}
	if !reflect.DeepEqual(cfg.Pools, want) {
		t.Errorf("pools:\n got %+v\nwant %+v", cfg.Pools, want)
	}

	all, err := cfg.Select("")
	if err != nil || len(all) != 3 {
		t.Errorf(`Select(""): %d pools, %v`, len(all), err)
	}
	one, err := cfg.Select("delta")
	if err != nil || len(one) != 1 || one[0].Name != "delta" {
		t.Errorf(`Select("delta"): %+v, %v`, one, err)
	}
	_, err = cfg.Select("alpha")
	if !errors.Is(err, ErrNoSuchPool) || err.Error() != `testdata/twemproxy-example-memcached.yml: no pool "alpha" (the file has "gamma", "delta", "omega")` {
		t.Errorf(`Select("alpha"): %v`, err)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadFile(filepath.Join(dir, "missing.yml"))
	if !errors.Is(err, os.ErrNotExist) || err.Error() != filepath.Join(dir, "missing.yml")+": no such file or directory" {
		t.Errorf("missing file: %v", err)
	}

	big := filepath.Join(dir, "big.yml")
	pad := strings.Repeat("# padding padding padding padding padding padding padding padding\n", MaxFileSize/64)
	if err := os.WriteFile(big, []byte(head+tail+pad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = ReadFile(big)
	if !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), big+": file too large (over 1048576 bytes)") {
		t.Errorf("big file: %v", err)
	}
	// Just under the limit is fine.
	if err := os.WriteFile(big, []byte(head+tail+pad[:MaxFileSize-len(head+tail)]), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(big); err != nil {
		t.Errorf("file of MaxFileSize bytes: %v", err)
	}

	_, err = ReadFile(dir)
	if err == nil {
		t.Errorf("a directory: no error")
	}
}

// FuzzParse: any input yields a config that validates, or an *Error; never a
// panic.
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add([]byte(tt.in))
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "twemproxy-example.yml")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yml", data)
		if err != nil {
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			return
		}
		if err := ValidatePools(cfg.Pools); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
		for _, p := range cfg.Pools {
			if p.Listen.Addr() == "" || len(p.Servers) == 0 {
				t.Fatalf("pool %q: listen %q, %d servers", p.Name, p.Listen.Addr(), len(p.Servers))
			}
			for _, s := range p.Servers {
				again, err := ParseServer(s.Spec)
				if err != nil || !reflect.DeepEqual(again, s) {
					t.Fatalf("server %q does not parse back: %+v, %v", s.Spec, again, err)
				}
			}
		}
	})
}
