package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/clitest"
	"github.com/podkit/podkit/internal/gittest"
)

// git-sync's environment variables, as a git-sync user's manifest has
// them, drive a --one-time sync (an init container).
func TestGitsyncOneTimeFromGitsyncEnv(t *testing.T) {
	r := gittest.NewRepo(t)
	h := r.Commit(t, map[string]string{"index.html": "hello"}, "one")
	root := t.TempDir()
	res := clitest.Run(t, []string{"GITSYNC_REPO=" + r.FileURL(), "GITSYNC_ROOT=" + root, "GITSYNC_ONE_TIME=true"}, "gitsync")
	if res.Code != 0 {
		t.Fatalf("exit %d: %s", res.Code, res.Stderr)
	}
	// The default link is --repo's last element, as git-sync's.
	target, err := os.Readlink(filepath.Join(root, "repo.git"))
	if err != nil || filepath.Base(target) != h {
		t.Fatalf("link -> %q (%v), want the tree of %s", target, err, h)
	}
	b, err := os.ReadFile(filepath.Join(root, "repo.git", "index.html"))
	if err != nil || string(b) != "hello" {
		t.Fatalf("index.html = %q (%v)", b, err)
	}
}

func TestGitsyncUsageErrors(t *testing.T) {
	for want, args := range map[string][]string{
		"--repo":       {"gitsync", "--root", t.TempDir()},
		"--submodules": {"gitsync", "--repo", "https://h/r.git", "--root", t.TempDir(), "--submodules", "all"},
		"--git-config": {"gitsync", "--repo", "https://h/r.git", "--root", t.TempDir(), "--git-config", "nocolon"},
		"--webhook-":   {"gitsync", "--repo", "https://h/r.git", "--root", t.TempDir(), "--webhook-url", "http://h/", "--webhook-success-status", "1000"},
	} {
		res := clitest.Run(t, nil, args...)
		if res.Code != 2 || !strings.Contains(res.Stderr, want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %s", args, res.Code, res.Stderr, want)
		}
	}
}

// The daemon: ready after the first sync, follows a push, keeps its
// password out of the logs, stops on SIGTERM.
func TestGitsyncDaemon(t *testing.T) {
	r := gittest.NewRepo(t)
	r.Commit(t, map[string]string{"f": "1"}, "one")
	url := gittest.ServeHTTP(t, r, "bob", "pa55-w0rd-xyz")
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("pa55-w0rd-xyz\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "root")
	p := clitest.Start(t, clitest.Options{}, "gitsync", "--repo", url, "--root", root, "--link", "html",
		"--username", "bob", "--password-file", pwFile, "--period", "50ms", "--max-failures", "-1", "--no-fsync", "--log-level", "debug")
	p.WaitReady()
	h := r.Commit(t, map[string]string{"f": "2"}, "two")
	for i := 0; ; i++ {
		if target, _ := os.Readlink(filepath.Join(root, "html")); filepath.Base(target) == h {
			break
		}
		if i == 3000 {
			t.Fatalf("the link did not move to %s in 30s: %s", h, p.Stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Counted just after the link moves: wait for it.
	for i := 0; ; i++ {
		code, body := p.Get("/metrics")
		if code == 200 && strings.Contains(body, `podkit_gitsync_syncs_total{status="success"} 2`) {
			break
		}
		if i == 3000 {
			t.Fatalf("/metrics %d without two successful syncs in 30s:\n%s", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.Signal(syscall.SIGTERM)
	if c := p.Wait(); c != 0 {
		t.Fatalf("exit %d after SIGTERM: %s", c, p.Stderr())
	}
	if strings.Contains(p.Stderr(), "pa55-w0rd-xyz") {
		t.Fatal("the password is in the logs")
	}
}
