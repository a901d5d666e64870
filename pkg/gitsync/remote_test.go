package gitsync

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podkit/podkit/internal/gittest"
)

// oneTime syncs cfg once and returns the Syncer and its error.
func oneTime(t *testing.T, cfg Config) (*Syncer, error) {
	t.Helper()
	cfg.OneTime = true
	if cfg.MaxFailures < 0 {
		cfg.MaxFailures = 0 // one attempt: -1 would retry a failure forever
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, s.Run(context.Background())
}

func TestSyncOverGitDaemon(t *testing.T) {
	r := gittest.NewRepo(t)
	h := r.Commit(t, map[string]string{"a.txt": "over git://"}, "one")
	s, err := oneTime(t, testConfig(t, gittest.ServeDaemon(t, r)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Current() != h {
		t.Fatalf("synced %s, want %s", s.Current(), h)
	}
	b, _ := os.ReadFile(filepath.Join(s.cfg.Root, "current", "a.txt"))
	if string(b) != "over git://" {
		t.Fatalf("a.txt = %q", b)
	}
}

// HTTPS with basic auth: the password works from the config, a wrong one
// fails, and neither appears in the logs or the error.
func TestSyncHTTPSBasicAuth(t *testing.T) {
	r := gittest.NewRepo(t)
	h := r.Commit(t, map[string]string{"a.txt": "secret content"}, "one")
	url, ca := gittest.ServeHTTPS(t, r, "alice", "s3cr3t-pass")

	cfg := testConfig(t, url)
	cfg.Username, cfg.Password, cfg.CAFile = "alice", "s3cr3t-pass", ca
	s, err := oneTime(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.Current() != h {
		t.Fatalf("synced %s, want %s", s.Current(), h)
	}

	var logs bytes.Buffer
	cfg = testConfig(t, strings.Replace(url, "https://", "https://alice:wrong-pass-123@", 1))
	cfg.CAFile = ca
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, err = oneTime(t, cfg)
	if err == nil {
		t.Fatal("a wrong password synced")
	}
	for _, out := range []string{err.Error(), logs.String()} {
		if strings.Contains(out, "wrong-pass-123") {
			t.Fatalf("the password leaked: %s", out)
		}
	}

	cfg = testConfig(t, url)
	cfg.Username, cfg.Password = "alice", "s3cr3t-pass"
	if _, err := oneTime(t, cfg); err == nil {
		t.Fatal("a server certificate from an unknown CA was accepted")
	}
}

func TestSyncHTTPNoAuth(t *testing.T) {
	r := gittest.NewRepo(t)
	h := r.Commit(t, map[string]string{"a.txt": "x"}, "one")
	s, err := oneTime(t, testConfig(t, gittest.ServeHTTP(t, r, "", "")))
	if err != nil || s.Current() != h {
		t.Fatalf("synced %s (%v), want %s", s.Current(), err, h)
	}
}

func TestSyncSubmodules(t *testing.T) {
	leaf := gittest.NewRepo(t)
	leaf.Commit(t, map[string]string{"leaf.txt": "leaf v1"}, "leaf")
	mid := gittest.NewRepo(t)
	mid.Commit(t, map[string]string{"mid.txt": "mid"}, "mid")
	mid.AddSubmodule(t, leaf, "deps/leaf")
	top := gittest.NewRepo(t)
	top.Commit(t, map[string]string{"top.txt": "top"}, "top")
	top.AddSubmodule(t, mid, "lib")

	for mode, want := range map[string][]string{
		SubmodulesRecursive: {"top.txt", "lib/mid.txt", "lib/deps/leaf/leaf.txt"},
		SubmodulesShallow:   {"top.txt", "lib/mid.txt", "!lib/deps/leaf/leaf.txt"},
		SubmodulesOff:       {"top.txt", "!lib/mid.txt"},
	} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig(t, gittest.ServeDaemon(t, top))
			cfg.Submodules = mode
			s, err := oneTime(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range want {
				p := filepath.Join(s.cfg.Root, "current", strings.TrimPrefix(w, "!"))
				_, err := os.Stat(p)
				if strings.HasPrefix(w, "!") != os.IsNotExist(err) {
					t.Errorf("%s: stat error %v", w, err)
				}
			}
			if fi, err := os.Stat(filepath.Join(s.cfg.Root, "current", "lib")); err != nil || !fi.IsDir() {
				t.Errorf("lib is not a directory even uninitialised: %v", err)
			}
		})
	}

	// A submodule moved to a new commit is followed.
	cfg := testConfig(t, top.FileURL())
	s, _ := start(t, cfg)
	waitFile(t, s, "lib/deps/leaf/leaf.txt", "leaf v1")
	leaf.Commit(t, map[string]string{"leaf.txt": "leaf v2"}, "leaf 2")
	mid.UpdateSubmodule(t, "deps/leaf")
	h := top.UpdateSubmodule(t, "lib")
	waitHash(t, s, h)
	waitFile(t, s, "lib/deps/leaf/leaf.txt", "leaf v2")
}

func TestSyncSparseCheckout(t *testing.T) {
	r := gittest.NewRepo(t)
	r.Commit(t, map[string]string{"docs/a.md": "a", "docs/internal/x.md": "x", "src/main.go": "package main", "README.md": "r"}, "one")
	cfg := testConfig(t, r.FileURL())
	cfg.SparseCheckoutFile = filepath.Join(t.TempDir(), "sparse")
	if err := os.WriteFile(cfg.SparseCheckoutFile, []byte("/README.md\ndocs/\n!docs/internal/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := oneTime(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{"README.md": true, "docs/a.md": true, "docs/internal/x.md": false, "src/main.go": false} {
		_, err := os.Stat(filepath.Join(s.cfg.Root, "current", p))
		if (err == nil) != want {
			t.Errorf("%s: present=%v, want %v", p, err == nil, want)
		}
	}
}

// A local repository that cannot be read (here: its packs truncated) is
// thrown away and fetched again; the tree stays served meanwhile.
func TestSyncRecoversCorruptRepository(t *testing.T) {
	r := gittest.NewRepo(t)
	r.Commit(t, map[string]string{"f": "1"}, "one")
	cfg := testConfig(t, r.FileURL())
	s, stop := start(t, cfg)
	waitFile(t, s, "f", "1")
	// Packs cut in half and loose objects emptied: what a full disk or a
	// killed writer leaves.
	packs, _ := filepath.Glob(filepath.Join(cfg.Root, ".git", "objects", "pack", "*"))
	objs, _ := filepath.Glob(filepath.Join(cfg.Root, ".git", "objects", "??", "*"))
	if len(packs)+len(objs) == 0 {
		t.Fatal("no objects found to corrupt")
	}
	for _, p := range append(packs, objs...) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, 0o644)
		if err := os.Truncate(p, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
	}
	h := r.Commit(t, map[string]string{"f": "2"}, "two")
	waitHash(t, s, h)
	waitFile(t, s, "f", "2")

	// Found at a start: a repository whose files are garbage.
	stop()
	cfg.Registry = prometheus.NewRegistry()
	for _, name := range []string{"HEAD", "config", "packed-refs", filepath.Join("refs", "podkit", "synced")} {
		if err := os.WriteFile(filepath.Join(cfg.Root, ".git", name), []byte("\x00garbage["), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s2, _ := start(t, cfg)
	h = r.Commit(t, map[string]string{"f": "3"}, "three")
	waitHash(t, s2, h)
	waitFile(t, s2, "f", "3")
	if n := testutilCount(s2.m.reclones); n == 0 {
		t.Error("the recovery was not counted as a re-clone")
	}
}

// The remote going away (the bare repository moved) keeps the tree
// served and ready, counts failures, and the sync resumes when it is back.
func TestSyncRemoteDownAndBack(t *testing.T) {
	r := gittest.NewRepo(t)
	r.Commit(t, map[string]string{"f": "1"}, "one")
	cfg := testConfig(t, r.FileURL())
	cfg.Registry = prometheus.NewRegistry()
	s, _ := start(t, cfg)
	waitFile(t, s, "f", "1")
	if err := os.Rename(r.Bare, r.Bare+".away"); err != nil {
		t.Fatal(err)
	}
	waitCount(t, s, "error", 2)
	if err := s.Ready(); err != nil {
		t.Fatalf("not ready while the last good tree is served: %v", err)
	}
	waitFile(t, s, "f", "1")
	if err := os.Rename(r.Bare+".away", r.Bare); err != nil {
		t.Fatal(err)
	}
	h := r.Commit(t, map[string]string{"f": "2"}, "two")
	waitHash(t, s, h)
}

// A commit given by hash is served again after a restart while the remote
// is gone: it is immutable and already in the local repository.
func TestSyncPinnedCommitSurvivesRestartWithoutRemote(t *testing.T) {
	r := gittest.NewRepo(t)
	h := r.Commit(t, map[string]string{"f": "pinned"}, "one")
	cfg := testConfig(t, r.FileURL())
	cfg.Ref = h
	if _, err := oneTime(t, cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(r.Bare, r.Bare+".away"); err != nil {
		t.Fatal(err)
	}
	cfg.Registry = prometheus.NewRegistry()
	s, err := oneTime(t, cfg)
	if err != nil || s.Current() != h {
		t.Fatalf("after a restart without the remote: synced %q, %v", s.Current(), err)
	}
}

// SSH with a key file and known_hosts; an unknown key and an unknown host
// key are refused.
func TestSyncOverSSH(t *testing.T) {
	r := gittest.NewRepo(t)
	h := r.Commit(t, map[string]string{"a.txt": "over ssh"}, "one")
	srv := gittest.ServeSSH(t, r)
	cfg := testConfig(t, srv.URL)
	cfg.SSHKeyFile, cfg.SSHKnownHosts, cfg.SSHKnownHostsFile = srv.KeyFile, true, srv.KnownHosts
	s, err := oneTime(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.Current() != h {
		t.Fatalf("synced %s, want %s", s.Current(), h)
	}

	cfg = testConfig(t, srv.URL)
	cfg.SSHKeyFile, cfg.SSHKnownHosts, cfg.SSHKnownHostsFile = srv.OtherKey, true, srv.KnownHosts
	if _, err := oneTime(t, cfg); err == nil {
		t.Fatal("a key the server does not know was accepted")
	}

	otherHosts := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(otherHosts, []byte("[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg = testConfig(t, srv.URL)
	cfg.SSHKeyFile, cfg.SSHKnownHosts, cfg.SSHKnownHostsFile = srv.KeyFile, true, otherHosts
	if _, err := oneTime(t, cfg); err == nil {
		t.Fatal("a host key not in known_hosts was accepted")
	}
}
