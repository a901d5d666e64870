package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/podkit/podkit/internal/cli"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// comp is a component whose stop the test controls: after ctx ends it waits
// for release (closed by default) before returning stopErr.
type comp struct {
	name    string
	started chan struct{}
	release chan struct{}
	runErr  error // returned at once, without waiting for ctx
	stopped chan struct{}
}

func newComp(name string) *comp {
	c := &comp{name: name, started: make(chan struct{}), release: make(chan struct{}), stopped: make(chan struct{})}
	close(c.release)
	return c
}

func (c *comp) Name() string { return c.name }
func (c *comp) Ready() error { return nil }
func (c *comp) Run(ctx context.Context) error {
	defer close(c.stopped)
	close(c.started)
	if c.runErr != nil {
		return c.runErr
	}
	<-ctx.Done()
	<-c.release
	return nil
}

type harness struct {
	t    *testing.T
	d    *Daemon
	sigs chan os.Signal
	base string
	done chan error
}

func start(t *testing.T, timeout time.Duration, comps ...Component) *harness {
	t.Helper()
	sigs := make(chan os.Signal, 2)
	d, err := New(Config{
		AdminAddr:       "127.0.0.1:0",
		ShutdownTimeout: timeout,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Signals:         sigs,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Listen(); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, d: d, sigs: sigs, base: "http://" + d.Admin().Addr().String(), done: make(chan error, 1)}
	go func() { h.done <- d.Run(context.Background(), comps...) }()
	return h
}

func (h *harness) get(path string) (int, string) {
	h.t.Helper()
	resp, err := http.Get(h.base + path)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (h *harness) result() error {
	h.t.Helper()
	select {
	case err := <-h.done:
		return err
	case <-time.After(10 * time.Second):
		h.t.Fatal("Run did not return")
		return nil
	}
}

func TestSignalStopsCleanly(t *testing.T) {
	c := newComp("a")
	h := start(t, 5*time.Second, c)
	<-c.started
	if code, body := h.get("/readyz"); code != 200 || body != "ok\n" {
		t.Fatalf("/readyz = %d %q, want 200 ok", code, body)
	}
	h.sigs <- syscall.SIGTERM
	if err := h.result(); err != nil {
		t.Fatalf("Run = %v, want nil after SIGTERM", err)
	}
	<-c.stopped
	if _, err := http.Get(h.base + "/healthz"); err == nil {
		t.Fatal("admin server still answering after Run returned")
	}
}

func TestReadyzFailsWhileDraining(t *testing.T) {
	c := newComp("slow")
	c.release = make(chan struct{})
	h := start(t, 5*time.Second, c)
	<-c.started
	h.sigs <- syscall.SIGTERM
	// The component is still stopping: readyz must say so, healthz stays ok.
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := h.get("/readyz")
		if code == 503 && strings.Contains(body, "shutting down") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %q, want 503 shutting down", code, body)
		}
		time.Sleep(time.Millisecond)
	}
	if code, _ := h.get("/healthz"); code != 200 {
		t.Fatalf("/healthz = %d while draining, want 200", code)
	}
	close(c.release)
	if err := h.result(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestSecondSignalForcesExit(t *testing.T) {
	c := newComp("stuck")
	c.release = make(chan struct{})
	h := start(t, time.Hour, c)
	<-c.started
	h.sigs <- syscall.SIGTERM
	h.sigs <- syscall.SIGINT
	err := h.result()
	if !errors.Is(err, cli.ErrForced) || cli.ExitCode(err) != cli.ExitForced {
		t.Fatalf("Run = %v (exit %d), want forced (exit 3)", err, cli.ExitCode(err))
	}
	close(c.release)
	<-c.stopped
}

func TestShutdownTimeoutForcesExit(t *testing.T) {
	c := newComp("stuck")
	c.release = make(chan struct{})
	h := start(t, 20*time.Millisecond, c)
	<-c.started
	h.sigs <- syscall.SIGTERM
	err := h.result()
	if !errors.Is(err, cli.ErrForced) || !strings.Contains(err.Error(), "--shutdown-timeout") {
		t.Fatalf("Run = %v, want forced by --shutdown-timeout", err)
	}
	close(c.release)
	<-c.stopped
}

func TestComponentErrorStopsTheRest(t *testing.T) {
	bad := newComp("bad")
	bad.runErr = errors.New("boom")
	good := newComp("good")
	h := start(t, 5*time.Second, bad, good)
	err := h.result()
	if err == nil || !strings.Contains(err.Error(), "bad: boom") {
		t.Fatalf("Run = %v, want the failing component's error", err)
	}
	if cli.ExitCode(err) != cli.ExitFailure {
		t.Fatalf("exit code %d, want 1", cli.ExitCode(err))
	}
	<-good.stopped // cancelled, not leaked
}

func TestListenClash(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d, err := New(Config{AdminAddr: ln.Addr().String(), Signals: make(chan os.Signal)})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("Run = %v, want a listen error naming the address", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		flag string
	}{
		{Config{AdminAddr: "127.0.0.1:0", ShutdownTimeout: -time.Second}, "--shutdown-timeout"},
		{Config{}, "--admin-addr"},
	} {
		_, err := New(tc.cfg)
		if cli.ExitCode(err) != cli.ExitUsage || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("New(%+v) = %v, want a usage error naming %s", tc.cfg, err, tc.flag)
		}
	}
}
