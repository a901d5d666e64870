package gitsync

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/podkit/podkit/internal/gittest"
)

// flaky proxies to the git HTTP server at target; while fail is set (or
// for the first failFirst requests) it answers 503. With postOnly, only
// the upload-pack POSTs (the fetch) fail: the ref listing still works.
type flaky struct {
	fail      atomic.Bool
	failFirst atomic.Int32
	postOnly  bool
}

func serveFlaky(t *testing.T, target string, f *flaky) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bad := f.fail.Load() || f.failFirst.Add(-1) >= 0
		if bad && (!f.postOnly || r.Method == http.MethodPost) {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + u.Path
}

// openUnder lists this process's open files below dir.
func openUnder(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	var open []string
	for _, e := range ents {
		p, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.HasPrefix(p, dir+"/") {
			open = append(open, p)
		}
	}
	return open
}

// git-sync creates the directories above --link (absolute or relative).
func TestReviewLinkInMissingDirectory(t *testing.T) {
	r := gittest.NewRepo(t)
	h := r.Commit(t, map[string]string{"f": "x"}, "one")
	for name, link := range map[string]func(root string) string{
		"relative": func(string) string { return "other/dir/link" },
		"absolute": func(string) string { return filepath.Join(t.TempDir(), "other", "dir", "link") },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t, r.FileURL())
			cfg.Link = link(cfg.Root)
			s, err := oneTime(t, cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			p := cfg.Link
			if !filepath.IsAbs(p) {
				p = filepath.Join(cfg.Root, p)
			}
			if b, err := os.ReadFile(filepath.Join(p, "f")); err != nil || string(b) != "x" || s.Current() != h {
				t.Fatalf("link/f = %q, %v", b, err)
			}
		})
	}
}

// git-sync creates the directories above --touch-file.
func TestReviewTouchFileInMissingDirectory(t *testing.T) {
	r := gittest.NewRepo(t)
	r.Commit(t, map[string]string{"f": "x"}, "one")
	cfg := testConfig(t, r.FileURL())
	cfg.TouchFile = "sub/dir/touched"
	if _, err := oneTime(t, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Root, "sub", "dir", "touched")); err != nil {
		t.Fatalf("touch file: %v", err)
	}
}

// git-sync --one-time retries a failed sync until --max-failures: an init
// container survives a transient error.
func TestReviewOneTimeRetriesUpToMaxFailures(t *testing.T) {
	r := gittest.NewRepo(t)
	h := r.Commit(t, map[string]string{"f": "x"}, "one")
	f := &flaky{}
	f.failFirst.Store(2)
	cfg := testConfig(t, serveFlaky(t, gittest.ServeHTTP(t, r, "", ""), f))
	cfg.MaxFailures = 3
	s, err := oneTime(t, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if s.Current() != h {
		t.Fatalf("synced %q, want %s", s.Current(), h)
	}

	// --max-failures 0: the first failure is final.
	f.fail.Store(true)
	cfg = testConfig(t, cfg.Repo)
	cfg.MaxFailures = 0
	if _, err := oneTime(t, cfg); err == nil {
		t.Fatal("Run succeeded against a failing remote")
	}
}

// A fetch that fails on the network (the ref listing worked) is not a
// broken local repository: .git must not be thrown away for it.
func TestReviewNetworkFetchErrorKeepsRepository(t *testing.T) {
	r := gittest.NewRepo(t)
	h1 := r.Commit(t, map[string]string{"f": "one"}, "one")
	f := &flaky{postOnly: true}
	cfg := testConfig(t, serveFlaky(t, gittest.ServeHTTP(t, r, "", ""), f))
	s, _ := start(t, cfg)
	waitHash(t, s, h1)
	f.fail.Store(true)
	h2 := r.Commit(t, map[string]string{"f": "two"}, "two")
	waitCount(t, s, "error", 4)
	f.fail.Store(false)
	waitHash(t, s, h2)
	if n := testutil.ToFloat64(s.m.reclones); n != 0 {
		t.Fatalf("%v reclones after network errors, want 0", n)
	}
}

// Repositories opened for submodules and for housekeeping are closed:
// no descriptor under ROOT stays open once Run has returned.
func TestReviewNoFileLeftOpen(t *testing.T) {
	t.Run("submodules", func(t *testing.T) {
		sub := gittest.NewRepo(t)
		sub.Commit(t, map[string]string{"s.txt": "sub"}, "sub")
		top := gittest.NewRepo(t)
		top.Commit(t, map[string]string{"top.txt": "top"}, "top")
		top.AddSubmodule(t, sub, "lib")
		cfg := testConfig(t, top.FileURL())
		if _, err := oneTime(t, cfg); err != nil {
			t.Fatal(err)
		}
		if open := openUnder(t, cfg.Root); len(open) > 0 {
			t.Fatalf("open after Run: %v", open)
		}
	})
	t.Run("gc", func(t *testing.T) {
		r := gittest.NewRepo(t)
		r.Commit(t, map[string]string{"f": "one"}, "one")
		cfg := testConfig(t, r.FileURL())
		cfg.GC = GCAlways
		s, stop := start(t, cfg)
		for i := range 3 {
			waitHash(t, s, r.Commit(t, map[string]string{"f": strings.Repeat("x", i)}, "more"))
		}
		stop()
		if open := openUnder(t, cfg.Root); len(open) > 0 {
			t.Fatalf("open after Run: %v", open)
		}
	})
}

// The pause after failures never goes negative, whatever the period: a
// long --period must not turn into a busy loop after many failures.
func TestReviewBackoffLongPeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{Repo: "https://127.0.0.1:1/none.git", Root: t.TempDir(), Link: "current", Period: 3 * time.Hour,
			MaxFailures: 24, NoFsync: true, Logger: testConfig(t, "x").Logger}
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = s.Run(context.Background())
		if err == nil || errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want the failure", err)
		}
		if took := time.Since(start); took < 24*cfg.Period {
			t.Fatalf("25 failures in %s of fake time, want >= %s", took, 24*cfg.Period)
		}
	})
}
