package gittest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Repo is a bare upstream repository and a work clone that commits and
// pushes to it. Clients (the code under test) clone the upstream; the
// methods change it through the work clone, each ending with a push, so a
// change is visible upstream when the method returns. Methods fail the test
// on error. A Repo is not safe for concurrent use.
type Repo struct {
	Name string // the upstream's name under its server: "repo.git", "repo-2.git"...
	Bare string // the upstream, what clients clone
	Work string // the work clone (branch main at first)

	root *root
	env  []string
	gens int // Generate calls, seeding each with a new content
}

// NewRepo makes an empty upstream (branch main, no commits yet: clone it
// after a Commit) and its work clone in the test's directory. All the
// repositories of a test sit side by side, so a submodule added with
// AddSubmodule resolves on every server.
func NewRepo(t testing.TB) *Repo {
	t.Helper()
	rt := rootOf(t)
	rootsMu.Lock()
	rt.repos++
	n := rt.repos
	rootsMu.Unlock()
	name := "repo"
	if n > 1 {
		name += "-" + strconv.Itoa(n)
	}
	r := &Repo{Name: name + ".git", root: rt, env: envFor(rt.home)}
	r.Bare = filepath.Join(rt.srv, r.Name)
	r.Work = filepath.Join(rt.dir, "work", name)
	r.git(t, "", "init", "-q", "--bare", "-b", "main", r.Bare)
	// Local settings too, so a human running git by hand in these
	// directories gets the same behaviour as the tests.
	r.git(t, r.Bare, "config", "gc.auto", "0")
	r.git(t, r.Bare, "config", "receive.autogc", "false")
	r.git(t, "", "clone", "-q", r.Bare, r.Work)
	for _, kv := range [][2]string{{"user.name", "gittest"}, {"user.email", "gittest@example.invalid"}, {"gc.auto", "0"}} {
		r.git(t, r.Work, "config", kv[0], kv[1])
	}
	return r
}

// FileURL is the upstream's file:// URL.
func (r *Repo) FileURL() string { return "file://" + filepath.ToSlash(r.Bare) }

// Git runs git args in the work clone; see the package's Git.
func (r *Repo) Git(t testing.TB, args ...string) string {
	t.Helper()
	return r.git(t, r.Work, args...)
}

func (r *Repo) git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := run(t, r.env, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Head is the hash of the work clone's current commit.
func (r *Repo) Head(t testing.TB) string {
	t.Helper()
	return r.Git(t, "rev-parse", "HEAD")
}

// Commit writes files (slash-separated path -> content; directories are
// made), commits every change of the work tree with msg on the current
// branch, pushes it and returns the new commit's hash. With no files it
// makes an empty commit: a new hash with the same tree.
func (r *Repo) Commit(t testing.TB, files map[string]string, msg string) string {
	t.Helper()
	r.write(t, files)
	return r.commitPush(t, msg, false)
}

// Delete removes paths (files or directories) in a commit with msg, pushes
// it and returns its hash.
func (r *Repo) Delete(t testing.TB, paths []string, msg string) string {
	t.Helper()
	r.Git(t, append([]string{"rm", "-r", "-q", "--"}, paths...)...)
	return r.commitPush(t, msg, false)
}

// ForcePush rewrites the current branch's history: it resets the branch to
// base (a hash, tag or an expression such as "HEAD~1"), commits files on it
// with msg and force-pushes, so the old tip is no longer reachable
// upstream. It returns the new hash and fails the test if that equals the
// old tip (same tree, parent, message and second).
func (r *Repo) ForcePush(t testing.TB, base string, files map[string]string, msg string) string {
	t.Helper()
	old := r.Head(t)
	r.Git(t, "reset", "-q", "--hard", base)
	r.write(t, files)
	h := r.commitPush(t, msg, true)
	if h == old {
		t.Fatalf("ForcePush(%q, %q) remade the old tip %s: change the files or the message", base, msg, h)
	}
	return h
}

func (r *Repo) commitPush(t testing.TB, msg string, force bool) string {
	t.Helper()
	r.Git(t, "add", "-A")
	r.Git(t, "commit", "-q", "--allow-empty", "-m", msg)
	h := r.Head(t)
	push := []string{"push", "-q", "origin", "HEAD"}
	if force {
		push = append(push, "--force")
	}
	r.Git(t, push...)
	return h
}

func (r *Repo) write(t testing.TB, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(r.Work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Tag points the lightweight tag name at the current commit, moving it if
// it exists, force-pushes it and returns the commit's hash.
func (r *Repo) Tag(t testing.TB, name string) string {
	t.Helper()
	r.Git(t, "tag", "-f", name)
	r.Git(t, "push", "-q", "--force", "origin", "refs/tags/"+name)
	return r.Head(t)
}

// AnnotatedTag is Tag for an annotated tag with message msg. It returns the
// commit's hash (what the tag peels to), not the tag object's.
func (r *Repo) AnnotatedTag(t testing.TB, name, msg string) string {
	t.Helper()
	r.Git(t, "tag", "-f", "-a", "-m", msg, name)
	r.Git(t, "push", "-q", "--force", "origin", "refs/tags/"+name)
	return r.Head(t)
}

// Branch makes branch name at the current commit (resetting it if it
// exists), switches the work clone to it and pushes it: later commits go
// there. It returns the commit's hash.
func (r *Repo) Branch(t testing.TB, name string) string {
	t.Helper()
	r.Git(t, "checkout", "-q", "-B", name)
	r.Git(t, "push", "-q", "--force", "origin", "HEAD")
	return r.Head(t)
}

// Checkout switches the work clone to an existing local branch.
func (r *Repo) Checkout(t testing.TB, name string) {
	t.Helper()
	r.Git(t, "checkout", "-q", name)
}

// DeleteBranch deletes branch name upstream (the work clone keeps it).
func (r *Repo) DeleteBranch(t testing.TB, name string) {
	t.Helper()
	r.Git(t, "push", "-q", "origin", "--delete", name)
}

// AddSubmodule adds sub (which must have a commit) at path, at sub's
// current commit, commits, pushes and returns the hash. The URL recorded in
// .gitmodules is relative ("../repo-2.git"), so the submodule resolves
// against whatever URL the superproject was cloned from: file://, the git
// daemon or the HTTP server of this package.
func (r *Repo) AddSubmodule(t testing.TB, sub *Repo, path string) string {
	t.Helper()
	if sub.root != r.root {
		t.Fatalf("AddSubmodule: %s and %s belong to different tests", r.Name, sub.Name)
	}
	r.Git(t, "submodule", "add", "-q", "../"+sub.Name, path)
	return r.commitPush(t, "add submodule "+path, false)
}

// UpdateSubmodule moves the submodule at path to the tip of its upstream's
// default branch, commits, pushes and returns the hash.
func (r *Repo) UpdateSubmodule(t testing.TB, path string) string {
	t.Helper()
	sub := filepath.Join(r.Work, filepath.FromSlash(path))
	r.git(t, sub, "fetch", "-q", "origin")
	r.git(t, sub, "checkout", "-q", "origin/HEAD")
	return r.commitPush(t, "update submodule "+path, false)
}

// Generate writes nfiles files of size bytes each under data/ (100 files a
// directory: data/d000/f00000.txt...), commits them, pushes and returns
// the hash. The content is pseudo-random lines of lowercase letters and
// digits (compressing like source code rather than like zeros), and each
// call draws new content for the same paths, so a second call changes
// every file.
func (r *Repo) Generate(t testing.TB, nfiles, size int) string {
	t.Helper()
	r.gens++
	rng := rand.NewChaCha8([32]byte{byte(r.gens), byte(r.gens >> 8)})
	const alphabet = "abcdefghijklmnopqrstuvwxyz012345" // 32: a byte's low 5 bits pick one
	buf := make([]byte, size)
	for i := range nfiles {
		_, _ = rng.Read(buf)
		for j, c := range buf {
			if j%64 == 63 {
				buf[j] = '\n'
			} else {
				buf[j] = alphabet[c%32]
			}
		}
		p := filepath.Join(r.Work, "data", fmt.Sprintf("d%03d", i/100), fmt.Sprintf("f%05d.txt", i))
		if i%100 == 0 {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return r.commitPush(t, fmt.Sprintf("generate %d files of %d bytes", nfiles, size), false)
}
