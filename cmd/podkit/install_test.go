package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podkit/podkit/internal/clitest"
)

func TestInstall(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dest := filepath.Join(dir, "podkit")
	want, err := os.ReadFile(clitest.Binary(t))
	if err != nil {
		t.Fatal(err)
	}
	// An existing file is replaced, mode and all.
	if err := os.WriteFile(dest, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if r := clitest.Run(t, nil, "install", dest); r.Code != 0 {
			t.Fatalf("install: exit %d\n%s", r.Code, r.Stderr)
		}
		st, err := os.Stat(dest)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(dest)
		if st.Mode() != 0o755 || string(got) != string(want) {
			t.Fatalf("installed %s: mode %v, %d bytes; want 0755 and the binary's %d bytes", dest, st.Mode(), len(got), len(want))
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("install left files behind: %v", entries)
	}
	if out, err := exec.Command(dest, "version").Output(); err != nil || !strings.HasPrefix(string(out), "podkit clitest") {
		t.Errorf("the installed binary: %v %q", err, out)
	}

	// A directory is refused, and so is a symbolic link to one (as test -d
	// sees it), rather than replaced by the binary.
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("sub", link); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{sub, sub + "/", link} {
		r := clitest.Run(t, nil, "install", d)
		if r.Code != 2 || !strings.Contains(r.Stderr, "is a directory") {
			t.Errorf("install to %s: exit %d %q, want 2", d, r.Code, r.Stderr)
		}
	}
	if entries, _ := os.ReadDir(sub); len(entries) != 0 {
		t.Errorf("install to a directory wrote into it: %v", entries)
	}
	if target, err := os.Readlink(link); err != nil || target != "sub" {
		t.Errorf("the link to the directory is now %q, %v", target, err)
	}
	// Where DEST cannot be created: exit 1, nothing left behind.
	if r := clitest.Run(t, nil, "install", filepath.Join(dir, "missing", "podkit")); r.Code != 1 {
		t.Errorf("install into a missing directory: exit %d %q, want 1", r.Code, r.Stderr)
	}
}
