package gittest

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// transports serve a repository and return the URL a client clones, plus
// the git options the client needs (the HTTPS certificate to trust).
var transports = []struct {
	name  string
	serve func(t *testing.T, r *Repo) (url string, opts []string)
}{
	{"file", func(t *testing.T, r *Repo) (string, []string) { return r.FileURL(), nil }},
	{"daemon", func(t *testing.T, r *Repo) (string, []string) { return ServeDaemon(t, r), nil }},
	{"http", func(t *testing.T, r *Repo) (string, []string) {
		return withAuth(t, ServeHTTP(t, r, "alice", "s3cret"), "alice", "s3cret"), nil
	}},
	{"http-anonymous", func(t *testing.T, r *Repo) (string, []string) { return ServeHTTP(t, r, "", ""), nil }},
	{"https", func(t *testing.T, r *Repo) (string, []string) {
		u, ca := ServeHTTPS(t, r, "alice", "s3cret")
		return withAuth(t, u, "alice", "s3cret"), []string{"-c", "http.sslCAInfo=" + ca}
	}},
}

func withAuth(t *testing.T, raw, user, pass string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, pass)
	return u.String()
}

// lsRemote maps each ref of remote to its hash.
func lsRemote(t *testing.T, opts []string, remote string) map[string]string {
	t.Helper()
	refs := map[string]string{}
	for _, line := range strings.Split(Git(t, "", append(opts, "ls-remote", remote)...), "\n") {
		if hash, ref, ok := strings.Cut(line, "\t"); ok {
			refs[ref] = hash
		}
	}
	return refs
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTransports clones over each transport with the git CLI, then sees a
// new commit by fetch, and a tag, a force-push and a deleted branch by
// ls-remote.
func TestTransports(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			r := NewRepo(t)
			h1 := r.Commit(t, map[string]string{"README": "one\n", "dir/sub/a.txt": "a\n"}, "first")
			remote, opts := tr.serve(t, r)

			clone := filepath.Join(t.TempDir(), "clone")
			Git(t, "", append(opts, "clone", "-q", remote, clone)...)
			if got := Git(t, clone, "rev-parse", "HEAD"); got != h1 {
				t.Fatalf("cloned HEAD %s, want %s", got, h1)
			}
			if got := readFile(t, filepath.Join(clone, "dir", "sub", "a.txt")); got != "a\n" {
				t.Fatalf("dir/sub/a.txt = %q", got)
			}

			h2 := r.Commit(t, map[string]string{"README": "two\n"}, "second")
			Git(t, clone, append(opts, "fetch", "-q", "origin")...)
			if got := Git(t, clone, "rev-parse", "origin/main"); got != h2 {
				t.Fatalf("fetched origin/main %s, want %s", got, h2)
			}

			r.Tag(t, "v1")
			r.AnnotatedTag(t, "v1-annotated", "release 1")
			h3 := r.ForcePush(t, "HEAD~1", map[string]string{"README": "rewritten\n"}, "rewrite")
			r.Branch(t, "feature")
			r.Checkout(t, "main")
			refs := lsRemote(t, opts, remote)
			for ref, want := range map[string]string{
				"refs/heads/main":           h3,
				"HEAD":                      h3,
				"refs/heads/feature":        h3,
				"refs/tags/v1":              h2,
				"refs/tags/v1-annotated^{}": h2,
			} {
				if refs[ref] != want {
					t.Errorf("ls-remote %s = %q, want %s (all: %v)", ref, refs[ref], want, refs)
				}
			}
			r.DeleteBranch(t, "feature")
			if _, ok := lsRemote(t, opts, remote)["refs/heads/feature"]; ok {
				t.Error("deleted branch feature still listed")
			}

			// The forced update reaches the clone; h2 is gone upstream.
			Git(t, clone, append(opts, "fetch", "-q", "origin")...)
			if got := Git(t, clone, "rev-parse", "origin/main"); got != h3 {
				t.Fatalf("after force-push origin/main %s, want %s", got, h3)
			}
			if _, err := TryGit(t, clone, "merge-base", "--is-ancestor", h2, "origin/main"); err == nil {
				t.Fatal("old tip still an ancestor after the force-push")
			}
		})
	}
}

// TestHTTPAuth: without the right basic auth the server answers 401 with
// a challenge and a clone fails (without prompting, without leaking the
// password into the error); with it the clone works, and so does a push.
func TestHTTPAuth(t *testing.T) {
	t.Parallel()
	r := NewRepo(t)
	h := r.Commit(t, map[string]string{"f": "x"}, "first")
	plain := ServeHTTP(t, r, "alice", "s3cret")

	resp, err := http.Get(plain + "/info/refs?service=git-upload-pack")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Fatalf("no credentials: %s, WWW-Authenticate %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}

	dir := t.TempDir()
	for i, c := range []struct{ name, remote string }{
		{"no", plain},
		{"a wrong password", withAuth(t, plain, "alice", "hunter2")},
		{"a wrong user", withAuth(t, plain, "bob", "s3cret")},
	} {
		_, err := TryGit(t, "", "clone", "-q", c.remote, filepath.Join(dir, strconv.Itoa(i)))
		if err == nil {
			t.Fatalf("clone with %s credentials worked", c.name)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the password: %v", err)
		}
	}

	clone := filepath.Join(dir, "ok")
	Git(t, "", "clone", "-q", withAuth(t, plain, "alice", "s3cret"), clone)
	if got := Git(t, clone, "rev-parse", "HEAD"); got != h {
		t.Fatalf("HEAD %s, want %s", got, h)
	}
	if err := os.WriteFile(filepath.Join(clone, "pushed"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	Git(t, clone, "add", "pushed")
	Git(t, clone, "commit", "-q", "-m", "over http")
	Git(t, clone, "push", "-q", "origin", "HEAD")
	if got, want := Git(t, r.Bare, "rev-parse", "main"), Git(t, clone, "rev-parse", "HEAD"); got != want {
		t.Fatalf("upstream main %s after push, want %s", got, want)
	}
}

// TestSubmodules clones a superproject with --recurse-submodules over each
// transport: the relative submodule URL resolves on the same server.
func TestSubmodules(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			sub := NewRepo(t)
			s1 := sub.Commit(t, map[string]string{"lib.txt": "v1\n"}, "sub first")
			top := NewRepo(t)
			top.Commit(t, map[string]string{"main.txt": "top\n"}, "top first")
			top.AddSubmodule(t, sub, "vendor/lib")
			remote, opts := tr.serve(t, top)

			clone := filepath.Join(t.TempDir(), "clone")
			Git(t, "", append(opts, "clone", "-q", "--recurse-submodules", remote, clone)...)
			if got := readFile(t, filepath.Join(clone, "vendor", "lib", "lib.txt")); got != "v1\n" {
				t.Fatalf("vendor/lib/lib.txt = %q", got)
			}
			if got := Git(t, filepath.Join(clone, "vendor", "lib"), "rev-parse", "HEAD"); got != s1 {
				t.Fatalf("submodule at %s, want %s", got, s1)
			}

			s2 := sub.Commit(t, map[string]string{"lib.txt": "v2\n"}, "sub second")
			top.UpdateSubmodule(t, "vendor/lib")
			Git(t, clone, append(opts, "pull", "-q", "--recurse-submodules")...)
			if got := Git(t, filepath.Join(clone, "vendor", "lib"), "rev-parse", "HEAD"); got != s2 {
				t.Fatalf("submodule after pull at %s, want %s", got, s2)
			}
		})
	}
}

// TestDelete: a deleted path is gone from the next commit's tree.
func TestDelete(t *testing.T) {
	t.Parallel()
	r := NewRepo(t)
	r.Commit(t, map[string]string{"keep": "k", "gone/a": "a", "gone/b": "b"}, "first")
	h := r.Delete(t, []string{"gone"}, "delete")
	if got := Git(t, r.Bare, "ls-tree", "-r", "--name-only", h); got != "keep" {
		t.Fatalf("tree after Delete: %q", got)
	}
}

// TestGenerate makes the 5,000-file, ~50 MB repository and clones
// it; the log shows how long each took.
func TestGenerate(t *testing.T) {
	t.Parallel()
	const nfiles, size = 5000, 10_000
	r := NewRepo(t)
	start := time.Now()
	h := r.Generate(t, nfiles, size)
	gen := time.Since(start)
	if n := strings.Count(Git(t, r.Bare, "ls-tree", "-r", "--name-only", h), "\n") + 1; n != nfiles {
		t.Fatalf("%d files in the tree, want %d", n, nfiles)
	}
	start = time.Now()
	clone := filepath.Join(t.TempDir(), "clone")
	Git(t, "", "clone", "-q", "--depth=1", r.FileURL(), clone)
	t.Logf("Generate(%d files x %d B): %v; clone --depth=1 over file://: %v", nfiles, size, gen, time.Since(start))
	if got := readFile(t, filepath.Join(clone, "data", "d049", "f04999.txt")); len(got) != size {
		t.Fatalf("last file has %d bytes, want %d", len(got), size)
	}
	start = time.Now()
	h2 := r.Generate(t, nfiles, size)
	if h2 == h || Git(t, r.Bare, "diff", "--shortstat", h, h2) == "" {
		t.Fatal("a second Generate changed nothing")
	}
	t.Logf("second Generate (every file rewritten): %v", time.Since(start))
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://alice:s3cret@127.0.0.1:80/repo.git":       "https://alice:xxxxx@127.0.0.1:80/repo.git",
		"fatal: 'http://a:b@h/x' and git://u:p@h/y failed": "fatal: 'http://a:xxxxx@h/x' and git://u:xxxxx@h/y failed",
		"https://token@github.com/o/r":                     "https://token@github.com/o/r",
		"https://github.com/o/r user:pass@not-a-url":       "https://github.com/o/r user:pass@not-a-url",
		"file:///tmp/x/repo.git":                           "file:///tmp/x/repo.git",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestGitErrorRedacted: a failing command's error names the URL without
// its password.
func TestGitErrorRedacted(t *testing.T) {
	t.Parallel()
	r := NewRepo(t)
	r.Commit(t, nil, "first")
	u := withAuth(t, ServeHTTP(t, r, "alice", "right"), "alice", "hunter2")
	_, err := TryGit(t, "", "ls-remote", u)
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "alice:xxxxx@") {
		t.Fatalf("error %v", err)
	}
}

// fatalTB records Fatal and ends the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatal(args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprint(args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// TestMissingGitFails: without git on PATH the helpers fail the test; they
// never skip it.
func TestMissingGitFails(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Binary(f)
		t.Error("Binary returned without git on PATH")
	}()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	if !strings.Contains(f.msg, "git is required") {
		t.Fatalf("Fatal(%q)", f.msg)
	}
}
