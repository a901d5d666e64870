//go:build unix

package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// tree lists every path below dir with its kind, for exact comparisons.
func tree(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, fmt.Sprintf("%s %v", rel, d.Type()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func nlink(t testing.TB, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(fi.Sys().(*syscall.Stat_t).Nlink)
}

// leftovers lists the publisher's temporary names in .worktrees.
func leftovers(t testing.TB, p *Publisher) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(p.Root, worktreesDir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) || strings.HasPrefix(e.Name(), trashPrefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// wideSnap has n files in nested directories; file i's content is "v<gen>"
// for the first changed files and "f<i>" otherwise.
func wideSnap(n, changed, gen int) Snapshot {
	m := map[string]string{}
	for i := range n {
		c := fmt.Sprintf("f%d", i)
		if i < changed {
			c = fmt.Sprintf("v%d-%d", gen, i)
		}
		m[fmt.Sprintf("d%d/e%d/f%03d", i%5, i%3, i)] = c
	}
	return files(m)
}

// TestFailureMidBuild: an entry that fails after hundreds of others were
// linked or written leaves the link, the old trees and their link counts as
// they were, and no temporary directory; the next publish works. Run for
// the first build after a publish (which uses the spare directories) and
// for the one after a failure (which does not).
func TestFailureMidBuild(t *testing.T) {
	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprintf("sync=%v", sync), func(t *testing.T) {
			p := newPub(t)
			p.NoSync = !sync
			d1, err := p.Publish(t.Context(), "c1", wideSnap(300, 300, 1))
			if err != nil {
				t.Fatal(err)
			}
			before := tree(t, d1)
			for attempt := range 2 {
				bad := wideSnap(300, 10, 2)
				i := slices.IndexFunc(bad, func(e Entry) bool { return strings.HasPrefix(e.Path, "d4/e2/") })
				bad[i].Open = func() (io.ReadCloser, error) { return nil, errors.New("boom") }
				bad[i].Hash = "new" // so it is written, not linked
				if _, err := p.Publish(t.Context(), "c2", bad); err == nil || !strings.Contains(err.Error(), "boom") {
					t.Fatalf("attempt %d: %v", attempt, err)
				}
				if cur, _ := p.Current(); cur != "c1" {
					t.Fatalf("current %q", cur)
				}
				if got, _ := os.Readlink(filepath.Join(p.Root, "current")); got != ".worktrees/c1" {
					t.Fatalf("link -> %q", got)
				}
				if trees, _ := p.trees(); !slices.Equal(trees, []string{"c1"}) {
					t.Errorf("trees %v", trees)
				}
				if l := leftovers(t, p); len(l) != 0 {
					t.Errorf("leftovers %v", l)
				}
				if got := tree(t, d1); !slices.Equal(got, before) {
					t.Errorf("old tree changed")
				}
				if n := nlink(t, d1+"/d0/e0/f015"); n != 1 {
					t.Errorf("old file has %d links", n)
				}
			}
			d2, err := p.Publish(t.Context(), "c2", wideSnap(300, 10, 2))
			if err != nil {
				t.Fatal(err)
			}
			if got := read(t, d2+"/d0/e0/f015"); got != "f15" {
				t.Errorf("f015 = %q", got)
			}
			if !slices.Equal(tree(t, d2), before) {
				t.Errorf("new tree has other paths")
			}
		})
	}
}

func TestCancelled(t *testing.T) {
	p := newPub(t)
	if _, err := p.Publish(t.Context(), "c1", wideSnap(100, 100, 1)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.Publish(ctx, "c2", wideSnap(100, 10, 2)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if cur, _ := p.Current(); cur != "c1" {
		t.Errorf("current %q", cur)
	}
	if l := leftovers(t, p); len(l) != 0 {
		t.Errorf("leftovers %v", l)
	}
}

// TestDirectoriesChange: the directories made in advance for the next
// build are the current tree's; a snapshot with others gets exactly its own
// (extra ones removed, a file where a directory was, empty directories).
func TestDirectoriesChange(t *testing.T) {
	p := newPub(t)
	snaps := []Snapshot{
		{fileEntry("a/b/f", "1", Regular), fileEntry("c/g", "2", Regular), {Path: "e/empty", Mode: Dir}},
		{fileEntry("a/x/f", "1", Regular), fileEntry("c", "now a file", Regular), fileEntry("d/d/d/h", "3", Executable),
			{Path: "a/b", Mode: Dir}},
		{fileEntry("top", "t", Regular)},
		{fileEntry("a/b/f", "1", Regular), {Path: "l", Mode: Symlink, Target: "a/b/f", Hash: "l"}},
	}
	for i, s := range snaps {
		d, err := p.Publish(t.Context(), fmt.Sprintf("c%d", i), s)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, e := range s {
			kind := map[Mode]fs.FileMode{Regular: 0, Executable: 0, Dir: fs.ModeDir, Symlink: fs.ModeSymlink}[e.Mode]
			want[fmt.Sprintf("%s %v", e.Path, kind)] = true
			for q := parentDir(e.Path); q != ""; q = parentDir(q) {
				want[fmt.Sprintf("%s %v", q, fs.ModeDir)] = true
			}
		}
		var w []string
		for k := range want {
			w = append(w, k)
		}
		slices.Sort(w)
		if got := tree(t, d); !slices.Equal(got, w) {
			t.Errorf("c%d: tree\n%v\nwant\n%v", i, got, w)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if l := leftovers(t, p); len(l) != 0 {
		t.Errorf("after Close: leftovers %v", l)
	}
}

// TestNoLinkThroughSymlink: a reader that replaces a directory of the
// current tree with a symlink to files that look exactly as recorded must
// not get those files linked into the next tree.
func TestNoLinkThroughSymlink(t *testing.T) {
	p := newPub(t)
	snap := files(map[string]string{"d/f": "same", "g": "x"})
	d1, err := p.Publish(t.Context(), "c1", snap)
	if err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	fi, _ := os.Stat(d1 + "/d/f")
	os.WriteFile(outside+"/f", []byte("same"), 0o644)
	os.Chtimes(outside+"/f", fi.ModTime(), fi.ModTime())
	os.RemoveAll(d1 + "/d")
	if err := os.Symlink(outside, d1+"/d"); err != nil {
		t.Fatal(err)
	}
	d2, err := p.Publish(t.Context(), "c2", snap)
	if err != nil {
		t.Fatal(err)
	}
	if sameFile(t, d2+"/d/f", outside+"/f") {
		t.Error("linked through a symlink")
	}
	if fi, _ := os.Lstat(d2 + "/d"); !fi.IsDir() {
		t.Errorf("d is %v", fi.Mode())
	}
	if p.Stats().FilesLinked != 1 {
		t.Errorf("linked %d, want only g", p.Stats().FilesLinked)
	}
}

// TestOpenNotConcurrent: Entry.Open reads the caller's object store; calls
// never overlap even though directories are filled in parallel.
func TestOpenNotConcurrent(t *testing.T) {
	p := newPub(t)
	p.workers = 8
	var inFlight, most atomic.Int32
	snap := wideSnap(200, 200, 1)
	for i := range snap {
		open := snap[i].Open
		snap[i].Open = func() (io.ReadCloser, error) {
			n := inFlight.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(50 * time.Microsecond)
			inFlight.Add(-1)
			return open()
		}
	}
	if _, err := p.Publish(t.Context(), "c1", snap); err != nil {
		t.Fatal(err)
	}
	if m := most.Load(); m != 1 {
		t.Errorf("%d concurrent Open calls", m)
	}
}

// TestOldTreesRemovedInBackground: an old tree's name is gone when Publish
// returns; its files go in the background, and Close waits for that.
func TestOldTreesRemovedInBackground(t *testing.T) {
	p := newPub(t)
	for i := range 4 {
		if _, err := p.Publish(t.Context(), fmt.Sprintf("c%d", i), wideSnap(200, 1, i)); err != nil {
			t.Fatal(err)
		}
		if i >= 2 {
			if trees, _ := p.trees(); !slices.Equal(trees, []string{fmt.Sprintf("c%d", i-1), fmt.Sprintf("c%d", i)}) {
				t.Errorf("trees %v", trees)
			}
		}
	}
	if st := p.Stats(); st.TreesRemoved != 2 {
		t.Errorf("removed %d", st.TreesRemoved)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if l := leftovers(t, p); len(l) != 0 {
		t.Errorf("after Close: %v", l)
	}
}

// TestBackgroundRemovalError: a deletion that failed in the background is
// reported by the next Publish as ErrCleanup (the publish itself stands),
// and a trash directory left behind is retried.
func TestBackgroundRemovalError(t *testing.T) {
	p := newPub(t)
	if _, err := p.Publish(t.Context(), "c1", files(map[string]string{"f": "1"})); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.rm.add(p.wt, "../outside") // os.Root refuses: a deletion that fails
	p.mu.Unlock()
	os.MkdirAll(filepath.Join(p.Root, worktreesDir, trashPrefix+"left-over", "x"), 0o755)
	d, err := p.Publish(t.Context(), "c2", files(map[string]string{"f": "2"}))
	if !errors.Is(err, ErrCleanup) {
		t.Fatalf("err %v", err)
	}
	if got := read(t, filepath.Join(p.Root, "current", "f")); got != "2" || d == "" {
		t.Errorf("f = %q, dir %q", got, d)
	}
	if err := p.Cleanup(time.Now()); err != nil {
		t.Errorf("second report: %v", err)
	}
	if l := leftovers(t, p); len(l) != 0 {
		t.Errorf("leftovers %v", l)
	}
}
