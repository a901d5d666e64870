// Package proctest runs the real servers tests talk to (memcached,
// nutcracker, statsd_exporter) as child processes that end with the test.
package proctest

import (
	"bytes"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// FreeAddr is a loopback TCP address that was free a moment ago: another
// process may take it before the caller binds it, so starters retry.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t, "127.0.0.1")))
}

// FreePort is a TCP port on host that was free a moment ago.
func FreePort(t testing.TB, host string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("free port on %s: %v", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Proc is a started server process.
type Proc struct {
	Pid    int
	Stderr *bytes.Buffer // stdout and stderr; read it once the process ended
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start runs bin with args until the test ends (killed by its pid in
// t.Cleanup, or earlier by Stop). A failed test logs what it wrote.
func Start(t testing.TB, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Stderr: new(bytes.Buffer), cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.Stderr, p.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	p.Pid = p.cmd.Process.Pid
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() && p.Stderr.Len() > 0 {
			t.Logf("%s output:\n%s", filepath.Base(bin), p.Stderr.String())
		}
	})
	return p
}

// Stop kills the process and waits for it; calling it again does nothing.
func (p *Proc) Stop() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// WaitUntil polls ready for up to 10 s; false when the process exited
// first or the time ran out.
func (p *Proc) WaitUntil(ready func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case <-p.exited:
			return false
		default:
		}
		if ready() {
			return true
		}
	}
	return false
}

// Dials reports whether network addr accepts a connection now.
func Dials(network, addr string) bool {
	c, err := net.DialTimeout(network, addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
