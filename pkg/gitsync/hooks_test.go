package gitsync

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/gittest"
	"github.com/podkit/podkit/pkg/gitsync/hook"
)

// Every new commit reaches the webhook (header Gitsync-Hash) and the
// exechook (GITSYNC_HASH, run in the new tree), and touches the touch file.
func TestHooksAndTouchFile(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.Header.Get("Gitsync-Hash"))
		mu.Unlock()
	}))
	defer srv.Close()
	dir := t.TempDir()
	script, log := filepath.Join(dir, "hook.sh"), filepath.Join(dir, "hook.log")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$GITSYNC_HASH $(cat f)\" >> "+log+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := gittest.NewRepo(t)
	h1 := r.Commit(t, map[string]string{"f": "one"}, "one")
	cfg := testConfig(t, r.FileURL())
	cfg.TouchFile = "synced"
	cfg.Hooks = []Hook{
		{Runner: &hook.Webhook{URL: srv.URL, Method: "PUT", SuccessStatus: 200, Timeout: time.Second}, Backoff: 50 * time.Millisecond},
		{Runner: &hook.Exec{Command: script, Timeout: 10 * time.Second}, Backoff: 50 * time.Millisecond},
	}
	s, _ := start(t, cfg)
	waitHash(t, s, h1)
	h2 := r.Commit(t, map[string]string{"f": "two"}, "two")
	waitHash(t, s, h2)
	want := h1 + " one\n" + h2 + " two\n"
	for i := 0; ; i++ {
		b, _ := os.ReadFile(log)
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if string(b) == want && n == 2 {
			break
		}
		if i == 3000 {
			t.Fatalf("exechook log %q, want %q; webhook calls %d", b, want, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	if strings.Join(got, ",") != "PUT "+h1+",PUT "+h2 {
		t.Errorf("webhook calls %v", got)
	}
	mu.Unlock()
	if _, err := os.Stat(filepath.Join(cfg.Root, "synced")); err != nil {
		t.Errorf("touch file: %v", err)
	}
}

// --one-time runs the hooks once, and a failing hook fails the command.
func TestOneTimeHookFailure(t *testing.T) {
	r := gittest.NewRepo(t)
	r.Commit(t, map[string]string{"f": "one"}, "one")
	script := filepath.Join(t.TempDir(), "fail.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, r.FileURL())
	cfg.Hooks = []Hook{{Runner: &hook.Exec{Command: script, Timeout: 10 * time.Second}, Backoff: time.Second}}
	if _, err := oneTime(t, cfg); err == nil || !strings.Contains(err.Error(), "exechook") {
		t.Fatalf("one-time with a failing hook: %v", err)
	}
}

// A 5,000-file repository: one changed file is one file written, the
// rest linked from the previous tree.
func TestIncrementalPublishOfLargeTree(t *testing.T) {
	r := gittest.NewRepo(t)
	r.Generate(t, 5000, 64)
	cfg := testConfig(t, r.FileURL())
	s, _ := start(t, cfg)
	waitHash(t, s, r.Head(t))
	linked0 := testutilCount(s.m.linked)
	h := r.Commit(t, map[string]string{"data/new.txt": "one more"}, "one file")
	waitHash(t, s, h)
	waitFile(t, s, "data/new.txt", "one more")
	if w := testutilCount(s.m.written); w > 5001+1 {
		t.Errorf("%v files written in all, want 5,000 then 1", w)
	}
	if l := testutilCount(s.m.linked) - linked0; l < 5000 {
		t.Errorf("%v files linked for the second commit, want 5,000", l)
	}
}
