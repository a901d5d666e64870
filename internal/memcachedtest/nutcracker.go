package memcachedtest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/podkit/podkit/internal/proctest"
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
	_, stats, _ := net.SplitHostPort(proctest.FreeAddr(t))
	p := proctest.Start(t, bin, "-c", conf, "-a", "127.0.0.1", "-s", stats,
		"-o", filepath.Join(t.TempDir(), "nutcracker.log"))
	if !p.WaitUntil(func() bool { return proctest.Dials("tcp", listen) }) {
		t.Fatalf("nutcracker did not listen on %s: %s", listen, p.Stderr.String())
	}
	return p.Pid
}
