// Package gittest creates and serves real git repositories for the gitsync
// tests: a bare upstream with a work clone that commits and pushes to it,
// served over file://, git daemon on loopback and the smart HTTP(S)
// protocol (git http-backend behind net/http/cgi with basic auth). It drives
// the git CLI: the product does not need git, its tests do. A missing git
// fails the test (never skips it): `make deps` (scripts/deps.sh) installs it.
//
// Every git it runs reads no system or user config: GIT_CONFIG_NOSYSTEM=1
// and HOME point into the test's temporary directory, whose .gitconfig sets
// an identity, the branch name main, file:// submodules allowed and no
// automatic gc (a background gc could outlive the test's directories).
package gittest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Binary finds git on PATH; a missing one fails the test.
func Binary(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("git is required (make deps, or apt-get install git)")
	}
	return p
}

// globalConfig is the .gitconfig of the temporary HOME. gc.auto=0 and
// receive.autogc=false: `gc --auto` detaches and may still be writing when
// t.TempDir is removed. core.fsync=none: nothing here must survive a crash.
const globalConfig = `[user]
	name = gittest
	email = gittest@example.invalid
[init]
	defaultBranch = main
[protocol "file"]
	allow = always
[advice]
	detachedHead = false
[gc]
	auto = 0
[receive]
	autogc = false
[maintenance]
	auto = false
[core]
	fsync = none
`

// root is one test's directory: home/ (HOME, with .gitconfig), srv/ (the
// bare repositories, each served under its name) and work/ (their clones).
type root struct {
	dir, home, srv string
	repos          int
}

var (
	rootsMu sync.Mutex
	roots   = map[testing.TB]*root{}
)

// rootOf returns t's directory, making it on first use.
func rootOf(t testing.TB) *root {
	t.Helper()
	rootsMu.Lock()
	defer rootsMu.Unlock()
	if r, ok := roots[t]; ok {
		return r
	}
	dir := t.TempDir()
	r := &root{dir: dir, home: filepath.Join(dir, "home"), srv: filepath.Join(dir, "srv")}
	for _, d := range []string{r.home, r.srv, filepath.Join(dir, "work")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(r.home, ".gitconfig"), []byte(globalConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	roots[t] = r
	t.Cleanup(func() {
		rootsMu.Lock()
		delete(roots, t)
		rootsMu.Unlock()
	})
	return r
}

// Env is the environment every git of the test runs with: the process's,
// without any GIT_* variable, HOME or XDG_CONFIG_HOME, plus HOME in the
// test's directory, no system config and no terminal prompt (a clone that
// lacks credentials fails instead of waiting for input).
func Env(t testing.TB) []string {
	t.Helper()
	return envFor(rootOf(t).home)
}

func envFor(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "GIT_"), k == "HOME", k == "XDG_CONFIG_HOME",
			k == "SSH_ASKPASS", k == "LANG", strings.HasPrefix(k, "LC_"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
}

// Git runs git args in dir (the process's directory when empty) and
// returns its standard output without surrounding space. An error fails
// the test with git's standard error; URL credentials are redacted from
// everything it reports.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := TryGit(t, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TryGit is Git for commands expected to fail: it returns the error (with
// git's redacted standard error) instead of failing the test.
func TryGit(t testing.TB, dir string, args ...string) (string, error) {
	t.Helper()
	return run(t, envFor(rootOf(t).home), dir, args...)
}

func run(t testing.TB, env []string, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), Binary(t), args...)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var quoted []string
		for _, a := range args {
			quoted = append(quoted, fmt.Sprintf("%q", a))
		}
		return "", errors.New(Redact(fmt.Sprintf("git %s (in %s): %v: %s",
			strings.Join(quoted, " "), dir, err, strings.TrimSpace(stderr.String()))))
	}
	return strings.TrimSpace(stdout.String()), nil
}

var userinfo = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://[^/?#@\s:]*):[^/?#@\s]*@`)

// Redact replaces the password of every URL in s with xxxxx, as
// (*url.URL).Redacted does.
func Redact(s string) string {
	return userinfo.ReplaceAllString(s, "${1}:xxxxx@")
}
