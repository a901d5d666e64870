package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/clitest"
)

func TestHealthServesAdminAPIAndStopsCleanly(t *testing.T) {
	p := clitest.Start(t, clitest.Options{}, "health")
	p.WaitReady()
	for _, tc := range []struct{ path, want string }{
		{"/healthz", "ok\n"},
		{"/livez", "ok\n"},
		{"/readyz", "ok\n"},
		{"/readyz?verbose", "[+]health ok\n"},
		{"/metrics", `podkit_build_info{commit="unknown",goversion="go`},
		{"/metrics", "process_resident_memory_bytes"},
		{"/debug/pprof/", "goroutine"},
		{"/", `href="/metrics"`},
	} {
		code, body := p.Get(tc.path)
		if code != 200 || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s = %d %.80q, want 200 containing %q", tc.path, code, body, tc.want)
		}
	}
	p.Stop()
	if !strings.Contains(p.Stderr(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop logged:\n%s", p.Stderr())
	}
}

func TestSIGINTStopsCleanly(t *testing.T) {
	p := clitest.Start(t, clitest.Options{}, "health")
	p.WaitReady()
	p.Signal(syscall.SIGINT)
	if code := p.Wait(); code != 0 {
		t.Fatalf("exit %d after SIGINT, want 0", code)
	}
}

func TestEnvBindsFlagsAndFlagsWin(t *testing.T) {
	port := freePort(t)
	p := clitest.Start(t, clitest.Options{
		NoAdminAddr: true,
		Env:         []string{"PODKIT_ADMIN_ADDR=" + port, "PODKIT_SHUTDOWN_TIMEOUT=7s", "PODKIT_LOG_LEVEL=debug"},
	}, "health")
	if got := p.AdminURL(); got != "http://"+port {
		t.Fatalf("admin on %s, want %s from PODKIT_ADMIN_ADDR", got, port)
	}
	p.WaitReady()
	p.Stop()
	if !strings.Contains(p.Stderr(), `"shutdown_timeout":"7s"`) {
		t.Fatalf("PODKIT_SHUTDOWN_TIMEOUT not applied:\n%s", p.Stderr())
	}

	// The flag wins over an env var that would not even parse as an address.
	q := clitest.Start(t, clitest.Options{Env: []string{"PODKIT_ADMIN_ADDR=not-an-address"}}, "health")
	q.WaitReady()
	q.Stop()
}

// inFlightProfile starts a long CPU profile request on the admin server and
// waits until its handler is running, so that a graceful stop has something
// to wait for.
func inFlightProfile(t *testing.T, p *clitest.Proc) {
	t.Helper()
	go func() {
		resp, err := http.Get(p.AdminURL() + "/debug/pprof/profile?seconds=60")
		if err == nil {
			resp.Body.Close()
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, body := p.Get("/debug/pprof/goroutine?debug=2"); strings.Contains(body, "pprof.Profile(") {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("profile request never reached its handler")
}

func TestSecondSignalForcesExit3(t *testing.T) {
	p := clitest.Start(t, clitest.Options{}, "health", "--shutdown-timeout=1h")
	p.WaitReady()
	inFlightProfile(t, p)
	p.Signal(syscall.SIGTERM)
	p.WaitLog(`"msg":"stopping"`)
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(); code != 3 {
		t.Fatalf("exit %d after a second signal, want 3:\n%s", code, p.Stderr())
	}
	if !strings.Contains(p.Stderr(), "second signal") {
		t.Fatalf("forced exit not explained:\n%s", p.Stderr())
	}
}

func TestShutdownTimeoutForcesExit3(t *testing.T) {
	p := clitest.Start(t, clitest.Options{}, "health", "--shutdown-timeout=300ms")
	p.WaitReady()
	inFlightProfile(t, p)
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(); code != 3 {
		t.Fatalf("exit %d, want 3 when the stop outlasts --shutdown-timeout:\n%s", code, p.Stderr())
	}
	if !strings.Contains(p.Stderr(), "--shutdown-timeout 300ms") {
		t.Fatalf("forced exit not explained:\n%s", p.Stderr())
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprintf("127.0.0.1:%d", ln.Addr().(*net.TCPAddr).Port)
}
