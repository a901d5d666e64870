package main

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// The paper's section 4.1 sidecar: a web server serves files from the pod
// volume, and podkit gitsync keeps them in sync with a git repository. The
// app serves git/html at /site/; the repository is a bare one in the volume
// that the runner commits a new index.html to every few seconds, as a
// developer pushing would, so the link visibly moves. In a cluster it would
// be GitHub or a git server (see ../gitsync).

type gitsyncConfig struct {
	admin string    // podkit gitsync --admin-addr
	up    *upstream // created when the container starts
}

// Paths in the pod volume, relative to it.
const (
	gitSrc  = "git-src.git" // the upstream repository, bare
	gitRoot = "git"         // gitsync --root
	gitLink = "html"        // gitsync --link, relative to --root
	siteDir = gitRoot + "/" + gitLink
)

const (
	gitPeriod = time.Second // gitsync --period: the demo should not keep you waiting
	// How often the runner commits a new version while the pod runs.
	commitEvery = 5 * time.Second
)

func (cfg *config) resolveGitsync() error {
	addrs, err := freePorts(1)
	if err != nil {
		return err
	}
	cfg.gitsync = gitsyncConfig{admin: addrs[0], up: &upstream{}}
	return nil
}

// gitsyncContainer is podkit gitsync with git-sync v4's flags, started
// before the app as a native sidecar would be: it is ready once the first
// commit is published, so the app never serves an empty directory.
func gitsyncContainer(cfg config) container {
	g := cfg.gitsync
	src := filepath.Join(cfg.volume, gitSrc)
	root := filepath.Join(cfg.volume, gitRoot)
	return container{
		name: "gitsync",
		argv: []string{cfg.podkit, "gitsync", "--admin-addr", g.admin, "--log-format", "text",
			"--repo", "file://" + src, "--ref", "main", "--root", root, "--link", gitLink,
			"--period", gitPeriod.String()},
		// The upstream exists before gitsync starts, as GitHub would.
		setup:     func() error { return g.up.create(src) },
		addr:      g.admin,
		readyPath: "/readyz",
		try: []string{
			"cat " + filepath.Join(root, gitLink, "index.html") + "   # the synced page; a new version is committed every " + commitEvery.String(),
			"readlink " + filepath.Join(root, gitLink) + "   # .worktrees/<commit>, swapped by a rename on each new commit",
			"curl http://" + cfg.appAddr + "/site/   # the app serves the synced tree",
			"curl -s http://" + g.admin + "/metrics | grep -E '^podkit_gitsync_(syncs|link_swaps|files)'",
		},
	}
}

// showGitsync shows the sidecar at work: the link points at the first
// commit, then at a new one soon after it is committed, and the app serves
// what it points at.
func showGitsync(ctx context.Context, cfg config, con *console) bool {
	up := cfg.gitsync.up
	link := filepath.Join(cfg.volume, siteDir)
	first, _ := up.last()
	if got, err := linkCommit(link); got != first {
		con.printf("==> gitsync: %s points at %q, want the upstream's %s (err: %v)\n", siteDir, got, first, err)
		return false
	}
	con.printf("==> gitsync: %s -> .worktrees/%s, the upstream's first commit\n", siteDir, first)
	next, n, err := up.commit(time.Now())
	if err != nil {
		con.printf("==> gitsync: commit: %v\n", err)
		return false
	}
	con.printf("==> gitsync: committed version %d (%s) to %s; waiting for the link to move\n", n, next, gitSrc)
	start := time.Now()
	deadline := start.Add(probeTimeout)
	for {
		got, _ := linkCommit(link)
		if got == next {
			break
		}
		if ctx.Err() != nil {
			return true
		}
		if time.Now().After(deadline) {
			con.printf("==> gitsync: %s still points at %q %s after the commit\n", siteDir, got, probeTimeout)
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	con.printf("==> gitsync: %s -> .worktrees/%s after %s (--period %s)\n", siteDir, next, time.Since(start).Round(100*time.Millisecond), gitPeriod)
	client := &http.Client{Timeout: 2 * time.Second}
	url := "http://" + cfg.appAddr + "/site/"
	body, err := getBody(ctx, client, url)
	want := fmt.Sprintf("<h1>version %d</h1>", n)
	if err != nil || !strings.Contains(body, want) {
		con.printf("==> gitsync: GET %s: want %q, got %q (err: %v)\n", url, want, body, err)
		return ctx.Err() != nil
	}
	con.printf("==> gitsync: GET %s -> %s\n", url, want)
	return true
}

// publishCommits commits a new version every commitEvery until the
// returned stop is called, which waits for it.
func publishCommits(cfg config, con *console) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(commitEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				hash, n, err := cfg.gitsync.up.commit(now)
				if err != nil {
					con.printf("==> upstream: commit: %v\n", err)
					return
				}
				con.printf("==> upstream: committed version %d (%s); gitsync moves %s within %s\n", n, hash[:12], siteDir, gitPeriod)
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

// linkCommit is the commit the link names: gitsync points it at
// .worktrees/<hash>.
func linkCommit(link string) (string, error) {
	target, err := os.Readlink(link)
	if err != nil {
		return "", err
	}
	return filepath.Base(target), nil
}

// upstream is the repository gitsync follows. It writes git's on-disk
// format itself (loose objects: zlib'd, named by the SHA-1 of their
// content, and a ref file), which every git reads, so that the demo needs
// no git CLI and stays stdlib-only.
type upstream struct {
	mu   sync.Mutex
	dir  string
	n    int    // versions committed
	head string // the last commit, hex
}

// create makes a bare repository at dir with a first commit on main.
func (u *upstream) create(dir string) error {
	for _, d := range []string{"objects/info", "objects/pack", "refs/heads", "refs/tags"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	for name, text := range map[string]string{
		"HEAD":   "ref: refs/heads/main\n",
		"config": "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	u.mu.Lock()
	u.dir = dir
	u.mu.Unlock()
	_, _, err := u.commit(time.Now())
	return err
}

func (u *upstream) last() (hash string, n int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.head, u.n
}

// commit adds version n+1 of the site on main: a new index.html next to
// an unchanged style.css, which gitsync hard-links from the previous tree.
func (u *upstream) commit(now time.Time) (hash string, n int, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	n = u.n + 1
	page := fmt.Sprintf(`<!doctype html>
<title>podkit gitsync demo</title>
<link rel="stylesheet" href="style.css">
<h1>version %d</h1>
<p>Committed to %s at %s by the quickstart runner; podkit gitsync published it to %s.</p>
`, n, gitSrc, now.UTC().Format(time.TimeOnly), siteDir)
	files := map[string]string{
		"index.html": page,
		"style.css":  "body { font-family: sans-serif; margin: 2em; }\n",
	}
	var tree bytes.Buffer
	// A tree lists its entries sorted by name (for blobs, plain byte order).
	for _, name := range slices.Sorted(maps.Keys(files)) {
		id, err := u.write("blob", []byte(files[name]))
		if err != nil {
			return "", 0, err
		}
		fmt.Fprintf(&tree, "100644 %s\x00%s", name, id)
	}
	treeID, err := u.write("tree", tree.Bytes())
	if err != nil {
		return "", 0, err
	}
	var c strings.Builder
	fmt.Fprintf(&c, "tree %x\n", treeID)
	if u.head != "" {
		fmt.Fprintf(&c, "parent %s\n", u.head)
	}
	who := fmt.Sprintf("quickstart <quickstart@podkit.invalid> %d +0000", now.Unix())
	fmt.Fprintf(&c, "author %s\ncommitter %s\n\nversion %d\n", who, who, n)
	commitID, err := u.write("commit", []byte(c.String()))
	if err != nil {
		return "", 0, err
	}
	hash = hex.EncodeToString(commitID)
	// As git does: write main.lock, rename it over main. A fetch sees the
	// old commit or the new one, whose objects are all written by now.
	ref := filepath.Join(u.dir, "refs", "heads", "main")
	if err := os.WriteFile(ref+".lock", []byte(hash+"\n"), 0o644); err != nil {
		return "", 0, err
	}
	if err := os.Rename(ref+".lock", ref); err != nil {
		return "", 0, err
	}
	u.n, u.head = n, hash
	return hash, n, nil
}

// write stores one loose object, "KIND LEN\0BODY" deflated under
// objects/xx/yyyy..., and returns its SHA-1 (raw, as a tree entry holds it).
func (u *upstream) write(kind string, body []byte) ([]byte, error) {
	obj := append(fmt.Appendf(nil, "%s %d\x00", kind, len(body)), body...)
	sum := sha1.Sum(obj)
	name := hex.EncodeToString(sum[:])
	dir := filepath.Join(u.dir, "objects", name[:2])
	path := filepath.Join(dir, name[2:])
	if _, err := os.Stat(path); err == nil {
		return sum[:], nil // the same content, stored by an earlier commit
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(obj) // a bytes.Buffer does not fail
	if err := zw.Close(); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, "tmp_obj_")
	if err != nil {
		return nil, err
	}
	_, err = tmp.Write(z.Bytes())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	return sum[:], nil
}
