package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/clitest"
	"github.com/podkit/podkit/internal/memcachedtest"
	"github.com/podkit/podkit/internal/proctest"
)

// mcSession is a memcached text-protocol client for the tests.
type mcSession struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func mcDial(t *testing.T, addr string) *mcSession {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &mcSession{t, c, bufio.NewReader(c)}
}

// do sends req and reads lines until one equals last.
func (s *mcSession) do(req, last string) string {
	s.t.Helper()
	if _, err := s.c.Write([]byte(req)); err != nil {
		s.t.Fatal(err)
	}
	var b strings.Builder
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("%q: got %q, then %v", req, b.String(), err)
		}
		b.WriteString(line)
		if line == last || strings.HasPrefix(line, "SERVER_ERROR") || strings.HasPrefix(line, "CLIENT_ERROR") || line == "ERROR\r\n" {
			return b.String()
		}
	}
}

func TestMemcacheProxyFlags(t *testing.T) {
	a, b := memcachedtest.Start(t), memcachedtest.Start(t)
	listen := proctest.FreeAddr(t)
	p := clitest.Start(t, clitest.Options{}, "memcache-proxy", "--listen", listen,
		"--server", a.Addr+":1", "--server", b.Addr+":1 second", "--auto-eject-hosts")
	p.WaitReady()
	s := mcDial(t, listen)
	for i := range 50 {
		if got := s.do(fmt.Sprintf("set k%d 0 0 2\r\nv%d\r\n", i, i%10), "STORED\r\n"); got != "STORED\r\n" {
			t.Fatalf("set: %q", got)
		}
	}
	got := s.do("get k1 k2 k3 nope\r\n", "END\r\n")
	if got != "VALUE k1 0 2\r\nv1\r\nVALUE k2 0 2\r\nv2\r\nVALUE k3 0 2\r\nv3\r\nEND\r\n" {
		t.Fatalf("multiget: %q", got)
	}
	_, metrics := p.Get("/metrics")
	for _, want := range []string{
		`podkit_memcache_proxy_commands_total{command="set",pool="default"} 50`,
		`podkit_memcache_proxy_server_up{pool="default",server="second"} 1`,
		`podkit_memcache_proxy_client_connections{pool="default"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
}

// The switch from twemproxy: nutcracker and podkit run the same file, and
// every key nutcracker stored is a hit through podkit.
func TestMemcacheProxyReplacesNutcracker(t *testing.T) {
	a, b, c := memcachedtest.Start(t), memcachedtest.Start(t), memcachedtest.Start(t)
	dir := t.TempDir()
	write := func(name, listen string) string {
		f := filepath.Join(dir, name)
		conf := fmt.Sprintf("alpha:\n  listen: %s\n  hash: fnv1a_64\n  distribution: ketama\n  timeout: 1000\n  servers:\n"+
			"   - %s:1 one\n   - %s:2 two\n   - %s:1\n", listen, a.Addr, b.Addr, c.Addr)
		if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	nl, pl := proctest.FreeAddr(t), proctest.FreeAddr(t)
	memcachedtest.Nutcracker(t, write("nutcracker.yml", nl), nl)
	pfile := write("podkit.yml", pl)
	p := clitest.Start(t, clitest.Options{}, "memcache-proxy", "--config", pfile)
	p.WaitReady()
	nc, pc := mcDial(t, nl), mcDial(t, pl)
	const n = 2000
	for i := range n {
		if got := nc.do(fmt.Sprintf("set key:%d 0 0 1\r\n%d\r\n", i, i%10), "STORED\r\n"); got != "STORED\r\n" {
			t.Fatalf("nutcracker set: %q", got)
		}
	}
	misses := 0
	for i := range n {
		if got := pc.do(fmt.Sprintf("get key:%d\r\n", i), "END\r\n"); got == "END\r\n" {
			misses++
		}
	}
	if misses > 0 {
		t.Fatalf("%d of %d keys stored through nutcracker missed through podkit", misses, n)
	}

	// A reload on SIGHUP: a changed file applies, a broken one is refused
	// and the pool keeps serving.
	if err := os.WriteFile(pfile, []byte("alpha:\n  listen: "+pl+"\n  redis: true\n  servers:\n   - "+a.Addr+":1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.Signal(syscall.SIGHUP)
	p.WaitLog("config reload rejected")
	if got := pc.do("get key:7\r\n", "END\r\n"); got != "VALUE key:7 0 1\r\n7\r\nEND\r\n" {
		t.Fatalf("after a rejected reload: %q", got)
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
}

func TestMemcacheProxyUsage(t *testing.T) {
	dir := t.TempDir()
	redis := filepath.Join(dir, "redis.yml")
	os.WriteFile(redis, []byte("alpha:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n   - 127.0.0.1:6379:1\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--server: at least one server"},
		{[]string{"--server", "127.0.0.1"}, "--server:"},
		{[]string{"--server", "127.0.0.1:11211:1", "--hash", "sha1"}, "--hash:"},
		{[]string{"--server", "127.0.0.1:11211:1", "--hash-tag", "{"}, "--hash-tag:"},
		{[]string{"--config", redis, "--server", "127.0.0.1:11211:1"}, "--server: cannot be combined with --config"},
		{[]string{"--config", redis}, "redis"},
		{[]string{"--config", filepath.Join(dir, "missing.yml")}, "missing.yml"},
		{[]string{"--pool", "x", "--server", "127.0.0.1:11211:1"}, "--pool: needs --config"},
		{[]string{"--server", "127.0.0.1:11211:1", "--server-tls-ca", redis}, "--server-tls"},
	} {
		r := clitest.Run(t, nil, append([]string{"memcache-proxy"}, tc.args...)...)
		if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.Code, r.Stderr, tc.want)
		}
	}
}
