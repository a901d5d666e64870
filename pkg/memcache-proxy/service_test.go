package memcacheproxy

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/podkit/podkit/internal/memcachedtest"
	"github.com/podkit/podkit/internal/proctest"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	// Through a rename, as a ConfigMap update does.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func poolYAML(name, listen string, servers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n  listen: %s\n  hash: fnv1a_64\n  distribution: ketama\n  timeout: 1000\n  servers:\n", name, listen)
	for _, s := range servers {
		fmt.Fprintf(&b, "   - %s:1\n", s)
	}
	return b.String()
}

func TestServiceReloadsFile(t *testing.T) {
	a, b := memcachedtest.Start(t), memcachedtest.Start(t)
	la, lb := proctest.FreeAddr(t), proctest.FreeAddr(t)
	file := filepath.Join(t.TempDir(), "nutcracker.yml")
	writeFile(t, file, poolYAML("alpha", la, a.Addr)+poolYAML("beta", lb, b.Addr))
	reg := prometheus.NewRegistry()
	hup := make(chan os.Signal, 1)
	s, err := NewService(ServiceConfig{File: file, Reload: hup, WatchInterval: 20 * time.Millisecond,
		Proxy: Config{Logger: slog.New(slog.DiscardHandler), Registry: reg}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitFor(t, "Ready", func() bool { return s.Ready() == nil })
	alpha := s.Proxies()[0]
	c := dial(t, la)
	c.roundTrip("set k 0 0 1\r\nv\r\n", "STORED\r\n")

	// A change of the file: alpha gets a second server, without dropping
	// the open connection.
	writeFile(t, file, poolYAML("alpha", la, a.Addr, b.Addr)+poolYAML("beta", lb, b.Addr))
	waitFor(t, "the reload", func() bool { return len(alpha.Pool().Servers) == 2 })
	kb := keyOn(t, alpha, 1)
	c.roundTrip("set "+kb+" 0 0 1\r\nw\r\n", "STORED\r\n")
	if got := direct(t, b.Addr, "get "+kb+"\r\n", "END\r\n"); !strings.Contains(got, "VALUE "+kb) {
		t.Fatalf("after the reload %s is not on the new server: %q", kb, got)
	}

	// A bad file is rejected and the running pools stay.
	bad := []string{
		poolYAML("alpha", la, a.Addr) + "  redis: true\n" + poolYAML("beta", lb, b.Addr),
		poolYAML("alpha", proctest.FreeAddr(t), a.Addr) + poolYAML("beta", lb, b.Addr), // listen moved
		poolYAML("alpha", la, a.Addr), // a pool removed
	}
	for i, text := range bad {
		writeFile(t, file, text)
		hup <- os.Interrupt
		waitFor(t, "the rejection", func() bool {
			_, rejected, _ := s.reloader.Results()
			return rejected >= int64(i+1)
		})
		if n := len(alpha.Pool().Servers); n != 2 {
			t.Fatalf("bad file %d changed the pool: %d servers", i, n)
		}
	}
	c.roundTrip("get "+kb+"\r\n", "VALUE "+kb+" 0 1\r\nw\r\nEND\r\n")
	if _, _, last := s.reloader.Results(); !last {
		t.Fatal("the last reload is not reported as rejected after a rejected file")
	}
	if n, _, _ := s.reloader.Results(); n != 1 {
		t.Fatalf("%v successful reloads, want 1", n)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("metrics lint: %v %v", err, problems)
	}
}

func TestServiceRejectsBadFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "nutcracker.yml")
	writeFile(t, file, poolYAML("alpha", "127.0.0.1:1", "127.0.0.1:2")+"  redis: true\n")
	_, err := NewService(ServiceConfig{File: file, Proxy: Config{Logger: slog.New(slog.DiscardHandler)}})
	if err == nil || !strings.Contains(err.Error(), "redis") {
		t.Fatalf("NewService with redis: true: %v", err)
	}
}
