package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The upstream writes git's format by hand: git itself must accept it, and
// podkit gitsync must publish its commits, both through git-upload-pack and
// through go-git's in-process server, which it uses when no git is
// installed (a fresh machine, a scratch image).
func TestUpstream(t *testing.T) {
	podkit := buildPodkit(t)
	dir := t.TempDir()
	src := filepath.Join(dir, gitSrc)
	up := &upstream{}
	if err := up.create(src); err != nil {
		t.Fatal(err)
	}
	first, _ := up.last()
	head, n, err := up.commit(time.Unix(1767225600, 0))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || head == first || len(head) != 40 {
		t.Fatalf("second commit: n=%d hash %q (first %q)", n, head, first)
	}

	git, err := exec.LookPath("git")
	if err != nil {
		t.Log("no git installed: the repository is checked by podkit gitsync only")
	} else {
		for _, args := range [][]string{{"fsck", "--strict", "--no-dangling"}, {"rev-parse", "main", "main~1"}} {
			out, err := exec.Command(git, append([]string{"--git-dir", src}, args...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			if args[0] == "rev-parse" && string(out) != head+"\n"+first+"\n" {
				t.Errorf("git rev-parse main main~1 = %q, want %s then %s", out, head, first)
			}
		}
	}

	for name, path := range map[string]string{
		"git-upload-pack": os.Getenv("PATH"),
		"in-process":      t.TempDir(), // no git in it
	} {
		t.Run(name, func(t *testing.T) {
			if name == "git-upload-pack" && git == "" {
				t.Skip("no git installed")
			}
			root := filepath.Join(t.TempDir(), gitRoot)
			cmd := exec.CommandContext(t.Context(), podkit, "gitsync", "--one-time",
				"--repo", "file://"+src, "--ref", "main", "--root", root, "--link", gitLink)
			cmd.Env = append(os.Environ(), "PATH="+path)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("podkit gitsync --one-time: %v\n%s", err, out)
			}
			link := filepath.Join(root, gitLink)
			if got, err := linkCommit(link); got != head {
				t.Errorf("%s names commit %q (err %v), want %s", link, got, err, head)
			}
			page, err := os.ReadFile(filepath.Join(link, "index.html"))
			if err != nil || !strings.Contains(string(page), "<h1>version 2</h1>") {
				t.Errorf("index.html = %q (err %v), want version 2", page, err)
			}
		})
	}
}

// checkGitsync: in the demo's output, the link named the upstream's first
// commit, then the commit the demo made next, which gitsync logged.
func checkGitsync(t *testing.T, out string) {
	t.Helper()
	first := regexp.MustCompile(`==> gitsync: git/html -> \.worktrees/([0-9a-f]{40}), the upstream's first commit`).FindStringSubmatch(out)
	next := regexp.MustCompile(`==> gitsync: committed version 2 \(([0-9a-f]{40})\)`).FindStringSubmatch(out)
	if first == nil || next == nil {
		t.Fatal("output does not show the link on the first commit, then a second commit")
	}
	if first[1] == next[1] {
		t.Errorf("the second commit %s is the first one", next[1])
	}
	for _, want := range []string{
		"msg=synced cmd=gitsync component=gitsync hash=" + first[1],
		"msg=synced cmd=gitsync component=gitsync hash=" + next[1],
		"==> gitsync: git/html -> .worktrees/" + next[1] + " after ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
