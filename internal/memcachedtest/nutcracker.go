package memcachedtest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Nutcracker runs Debian's nutcracker (twemproxy) with the configuration
// file conf until the test ends, and waits until listen, an address of
// conf's, accepts. Its stats server gets a free loopback port.
func Nutcracker(t testing.TB, conf, listen string) int {
	t.Helper()
	bin, err := exec.LookPath("nutcracker")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nutcracker"); serr != nil {
			t.Fatalf("nutcracker is required (make deps, or apt-get install nutcracker): %v", err)
		}
		bin = "/usr/sbin/nutcracker"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, stats, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-c", conf, "-a", "127.0.0.1", "-s", stats,
		"-o", filepath.Join(t.TempDir(), "nutcracker.log"))
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	if !up("tcp", listen, exited) {
		t.Fatalf("nutcracker did not listen on %s: %s", listen, stderr.String())
	}
	return cmd.Process.Pid
}

// FreeAddr is a loopback address that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
