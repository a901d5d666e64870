package gitsync

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/podkit/podkit/internal/gittest"
)

// testConfig is a config for repo url syncing into a fresh root fast.
func testConfig(t *testing.T, url string) Config {
	t.Helper()
	return Config{Repo: url, Root: t.TempDir(), Link: "current", Period: 20 * time.Millisecond,
		Depth: 1, MaxFailures: -1, NoFsync: true, Logger: slog.New(slog.DiscardHandler),
		Registry: prometheus.NewRegistry()}
}

// start runs a Syncer until the test ends or stop is called.
func start(t *testing.T, cfg Config) (s *Syncer, stop func()) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return s, stop
}

// waitFile waits until the file at the link's path rel holds want.
func waitFile(t *testing.T, s *Syncer, rel, want string) {
	t.Helper()
	p := filepath.Join(s.cfg.Root, s.cfg.Link, rel)
	var got string
	for i := 0; i < 3000; i++ {
		b, err := os.ReadFile(p)
		if got = string(b); err == nil && got == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: %q after 30s, want %q (last error: %v)", rel, got, want, s.Ready())
}

func waitHash(t *testing.T, s *Syncer, want string) {
	t.Helper()
	for i := 0; s.Current() != want; i++ {
		if i == 3000 {
			t.Fatalf("synced %q after 30s, want %s (%v)", s.Current(), want, s.Ready())
		}
		time.Sleep(10 * time.Millisecond)
	}
	target, err := os.Readlink(filepath.Join(s.cfg.Root, s.cfg.Link))
	if err != nil || filepath.Base(target) != want {
		t.Fatalf("link -> %q (%v), want the tree %s", target, err, want)
	}
}

func TestSyncFollowsBranch(t *testing.T) {
	r := gittest.NewRepo(t)
	h1 := r.Commit(t, map[string]string{"index.html": "v1", "bin/run.sh": "#!/bin/sh\n", "a/b/c.txt": "deep"}, "one")
	r.Git(t, "update-index", "--chmod=+x", "bin/run.sh")
	s, _ := start(t, testConfig(t, r.FileURL()))
	waitHash(t, s, h1)
	waitFile(t, s, "a/b/c.txt", "deep")
	if s.Ready() != nil {
		t.Fatalf("not ready after a sync: %v", s.Ready())
	}
	h2 := r.Commit(t, map[string]string{"index.html": "v2"}, "two")
	waitHash(t, s, h2)
	waitFile(t, s, "index.html", "v2")
	h3 := r.Delete(t, []string{"a"}, "three")
	waitHash(t, s, h3)
	if _, err := os.Stat(filepath.Join(s.cfg.Root, "current", "a")); !os.IsNotExist(err) {
		t.Fatalf("deleted directory still there: %v", err)
	}
	waitCount(t, s, "success", 3) // counted just after the link moved
	if n := testutil.ToFloat64(s.m.syncs.WithLabelValues("success")); n != 3 {
		t.Errorf("%v successful syncs counted, want 3", n)
	}
	waitCount(t, s, "noop", 1) // the polls since: the ref did not move
}

func TestSyncRefKinds(t *testing.T) {
	r := gittest.NewRepo(t)
	first := r.Commit(t, map[string]string{"f": "1"}, "one")
	r.Tag(t, "light")
	annotated := r.Commit(t, map[string]string{"f": "2"}, "two")
	r.AnnotatedTag(t, "v1.0", "release")
	r.Branch(t, "feature")
	feat := r.Commit(t, map[string]string{"f": "feature"}, "on feature")
	r.Checkout(t, "main")
	tip := r.Commit(t, map[string]string{"f": "3"}, "three")
	for ref, want := range map[string]string{"": tip, "HEAD": tip, "main": tip, "refs/heads/main": tip,
		"light": first, "v1.0": annotated, "feature": feat, first: first} {
		t.Run("ref="+ref, func(t *testing.T) {
			cfg := testConfig(t, r.FileURL())
			cfg.Ref, cfg.OneTime = ref, true
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if s.Current() != want {
				t.Fatalf("synced %s, want %s", s.Current(), want)
			}
		})
	}
}

func TestSyncSurvivesForcePushAndDeletedBranch(t *testing.T) {
	r := gittest.NewRepo(t)
	r.Commit(t, map[string]string{"f": "1"}, "one")
	r.Branch(t, "rel")
	h := r.Commit(t, map[string]string{"f": "2"}, "two")
	cfg := testConfig(t, r.FileURL())
	cfg.Ref = "rel"
	s, _ := start(t, cfg)
	waitHash(t, s, h)
	forced := r.ForcePush(t, "HEAD~1", map[string]string{"f": "rewritten"}, "rewrite")
	waitHash(t, s, forced)
	waitFile(t, s, "f", "rewritten")
	r.Checkout(t, "main")
	r.DeleteBranch(t, "rel")
	for i := 0; testutil.ToFloat64(s.m.syncs.WithLabelValues("error")) < 3; i++ {
		if i == 3000 {
			t.Fatal("the deleted branch was not counted as failures")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Ready(); err != nil {
		t.Fatalf("not ready while the last good tree is served: %v", err)
	}
	waitFile(t, s, "f", "rewritten")
	if !strings.Contains(s.lastError(), "not found") {
		t.Errorf("last error %q does not say the ref is gone", s.lastError())
	}
}

func testutilCount(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }

// waitCount waits for n sync attempts with status.
func waitCount(t *testing.T, s *Syncer, status string, n float64) {
	t.Helper()
	for i := 0; testutil.ToFloat64(s.m.syncs.WithLabelValues(status)) < n; i++ {
		if i == 3000 {
			t.Fatalf("fewer than %v %s syncs in 30s", n, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lastError is the last attempt's error text ("" after a good one).
func (s *Syncer) lastError() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastErr == nil {
		return ""
	}
	return s.lastErr.Error()
}
