package gitsync

import (
	"errors"
	"testing"
	"time"

	gitconfig "github.com/go-git/go-git/v5/config"
)

func TestDefaultLink(t *testing.T) {
	for repo, want := range map[string]string{
		"https://github.com/org/site.git":  "site.git",
		"https://github.com/org/site/":     "site",
		"git@github.com:org/site.git":      "site.git",
		"ssh://git@host:2222/a/b/repo.git": "repo.git",
		"file:///srv/git/content.git":      "content.git",
		"/srv/git/content":                 "content",
	} {
		if got := defaultLink(repo); got != want {
			t.Errorf("%s: %q, want %q", repo, got, want)
		}
	}
}

func TestConfigErrorsNameTheFlag(t *testing.T) {
	base := Config{Repo: "https://h/r.git", Root: t.TempDir()}
	for flag, mod := range map[string]func(*Config){
		"repo":                   func(c *Config) { c.Repo = "" },
		"root":                   func(c *Config) { c.Root = "" },
		"period":                 func(c *Config) { c.Period = time.Millisecond },
		"depth":                  func(c *Config) { c.Depth = -1 },
		"submodules":             func(c *Config) { c.Submodules = "all" },
		"git-gc":                 func(c *Config) { c.GC = "sometimes" },
		"ref":                    func(c *Config) { c.Ref = "main..x" },
		"stale-worktree-timeout": func(c *Config) { c.StaleWorktreeTimeout = -1 },
		"sparse-checkout-file":   func(c *Config) { c.SparseCheckoutFile = "/nonexistent/sparse" },
		"link":                   func(c *Config) { c.Link = "sub/.hidden" },
	} {
		cfg := base
		mod(&cfg)
		_, err := New(cfg)
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Flag != flag {
			t.Errorf("%s: got %v", flag, err)
		}
	}
}

func TestSubmoduleURL(t *testing.T) {
	for _, c := range [][3]string{
		{"https://h/org/top.git", "../lib.git", "https://h/org/lib.git"},
		{"https://h/org/top.git", "./sub", "https://h/org/top.git/sub"},
		{"git@h:org/top.git", "../lib.git", "git@h:org/lib.git"},
		{"/srv/top.git", "../lib.git", "/srv/lib.git"},
		{"https://h/org/top.git", "https://other/x.git", "https://other/x.git"},
	} {
		got, err := submoduleURL(c[0], c[1])
		if err != nil || got != c[2] {
			t.Errorf("%s + %s = %q (%v), want %q", c[0], c[1], got, err, c[2])
		}
	}
}

// FuzzGitmodules: .gitmodules comes from the repository, so from anyone
// who can push; parsing and resolving it must not panic.
func FuzzGitmodules(f *testing.F) {
	f.Add([]byte("[submodule \"lib\"]\n\tpath = lib\n\turl = ../lib.git\n"), "https://h/org/top.git")
	f.Add([]byte("[submodule \"x\"]\npath=a\nurl=./b\n[core]\n"), "git@h:o/t")
	f.Fuzz(func(t *testing.T, data []byte, super string) {
		if len(data) > maxGitmodules {
			return
		}
		m := gitconfig.NewModules()
		if err := m.Unmarshal(data); err != nil {
			return
		}
		for _, s := range m.Submodules {
			_, _ = submoduleURL(super, s.URL)
		}
	})
}
