// Package memcachedtest starts real memcached servers for tests. A missing
// binary fails the test: `make deps` (scripts/deps.sh) installs it.
package memcachedtest

import (
	"net"
	"os"
	"os/exec"
	"testing"

	"github.com/podkit/podkit/internal/proctest"
)

// Server is a running memcached.
type Server struct {
	Addr string // 127.0.0.1:PORT
	Pid  int

	stop func()
}

// Stop kills the server now (it is killed at the end of the test anyway).
func (s Server) Stop() { s.stop() }

// Start runs Debian's memcached on a free loopback port until the test ends
// (killed by its pid in t.Cleanup). The port is found by binding :0 first,
// so another process may take it in between: Start then tries another.
func Start(t testing.TB) Server { return StartWith(t, "") }

// StartWith is Start with memcached listening on addr ("": a free port;
// fails when addr is taken) and with extra arguments (e.g. TLS: -Z -o
// ssl_chain_cert=...). With "-s PATH" in extra memcached listens on that
// unix socket only, and Server.Addr is PATH.
func StartWith(t testing.TB, addr string, extra ...string) Server {
	t.Helper()
	bin, err := exec.LookPath("memcached")
	if err != nil {
		t.Fatalf("memcached is required (make deps, or apt-get install memcached): %v", err)
	}
	var socket string
	for i, a := range extra {
		if a == "-s" && i+1 < len(extra) {
			socket = extra[i+1]
		}
	}
	var stderr string
	for range 5 {
		addr := addr
		if addr == "" {
			addr = proctest.FreeAddr(t)
		}
		_, port, _ := net.SplitHostPort(addr)
		args := append([]string{"-l", "127.0.0.1", "-p", port, "-U", "0", "-m", "64", "-t", "2"}, extra...)
		if os.Geteuid() == 0 {
			args = append(args, "-u", "root") // memcached refuses root without it
		}
		p := proctest.Start(t, bin, args...)
		network := "tcp"
		if socket != "" {
			network, addr = "unix", socket
		}
		if p.WaitUntil(func() bool { return proctest.Dials(network, addr) }) {
			return Server{Addr: addr, Pid: p.Pid, stop: p.Stop}
		}
		p.Stop()
		stderr = p.Stderr.String()
	}
	t.Fatalf("memcached did not start: %s", stderr)
	return Server{}
}
