// Package memcachedtest starts real memcached servers for tests. A missing
// binary fails the test: `make deps` (scripts/deps.sh) installs it.
package memcachedtest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
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
	var stderr *bytes.Buffer
	for range 5 {
		addr := addr
		if addr == "" {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr = l.Addr().String()
			l.Close()
		}
		_, port, _ := net.SplitHostPort(addr)
		args := append([]string{"-l", "127.0.0.1", "-p", port, "-U", "0", "-m", "64", "-t", "2"}, extra...)
		if os.Geteuid() == 0 {
			args = append(args, "-u", "root") // memcached refuses root without it
		}
		stderr = new(bytes.Buffer) // a failed try's process may still write to its own
		cmd := exec.Command(bin, args...)
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() { _ = cmd.Process.Kill(); <-exited }
		t.Cleanup(stop)
		network := "tcp"
		if socket != "" {
			network, addr = "unix", socket
		}
		if up(network, addr, exited) {
			return Server{Addr: addr, Pid: cmd.Process.Pid, stop: stop}
		}
		stop()
	}
	t.Fatalf("memcached did not start: %s", stderr.String())
	return Server{}
}

// up waits until addr accepts, or memcached exits, within 5 s.
func up(network, addr string, exited <-chan struct{}) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		select {
		case <-exited:
			return false
		default:
		}
		if c, err := net.DialTimeout(network, addr, time.Second); err == nil {
			c.Close()
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}
