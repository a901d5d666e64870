package publish

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// files builds a snapshot of regular files; the hash is the content's sha256.
func files(m map[string]string) Snapshot {
	var s Snapshot
	for p, c := range m {
		s = append(s, fileEntry(p, c, Regular))
	}
	return s
}

func fileEntry(p, content string, mode Mode) Entry {
	sum := sha256.Sum256([]byte(content))
	return Entry{
		Path: p, Mode: mode, Size: int64(len(content)), Hash: fmt.Sprintf("%x", sum),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil },
	}
}

func newPub(t testing.TB) *Publisher {
	p := &Publisher{Root: t.TempDir(), Link: "current", NoSync: true}
	t.Cleanup(func() { p.Close() })
	return p
}

func read(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sameFile(t testing.TB, a, b string) bool {
	t.Helper()
	fa, err := os.Lstat(a)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := os.Lstat(b)
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(fa, fb)
}

func TestIncremental(t *testing.T) {
	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprintf("sync=%v", sync), func(t *testing.T) {
			p := newPub(t)
			p.NoSync = !sync
			d1, err := p.Publish(t.Context(), "c1", files(map[string]string{"a": "A1", "d/b": "B1", "d/e/c": "C1"}))
			if err != nil {
				t.Fatal(err)
			}
			d2, err := p.Publish(t.Context(), "c2", files(map[string]string{"a": "A1", "d/b": "B2", "d/e/c": "C1"}))
			if err != nil {
				t.Fatal(err)
			}
			if !sameFile(t, d1+"/a", d2+"/a") || !sameFile(t, d1+"/d/e/c", d2+"/d/e/c") {
				t.Error("unchanged files do not share an inode")
			}
			if sameFile(t, d1+"/d/b", d2+"/d/b") {
				t.Error("changed file shares an inode")
			}
			if got := read(t, d1+"/d/b"); got != "B1" {
				t.Errorf("old tree d/b = %q", got)
			}
			if got := read(t, filepath.Join(p.Root, "current", "d/b")); got != "B2" {
				t.Errorf("link d/b = %q", got)
			}
			if tgt, _ := os.Readlink(filepath.Join(p.Root, "current")); tgt != ".worktrees/c2" {
				t.Errorf("link target %q, want relative .worktrees/c2", tgt)
			}
			st := p.Stats()
			if st.FilesLinked != 2 || st.FilesWritten != 4 || st.BytesWritten != 8 {
				t.Errorf("stats %+v", st)
			}
			// Restart: the manifest is reloaded and linking continues.
			p.Close()
			p2 := &Publisher{Root: p.Root, Link: "current", NoSync: true}
			defer p2.Close()
			d3, err := p2.Publish(t.Context(), "c3", files(map[string]string{"a": "A1", "d/b": "B2", "d/e/c": "C3"}))
			if err != nil {
				t.Fatal(err)
			}
			if !sameFile(t, d2+"/a", d3+"/a") || !sameFile(t, d2+"/d/b", d3+"/d/b") || sameFile(t, d2+"/d/e/c", d3+"/d/e/c") {
				t.Error("after restart: wrong sharing")
			}
			if p2.st.Previous != "c2" {
				t.Errorf("previous %q", p2.st.Previous)
			}
		})
	}
}

func TestModifiedInPlaceNotPropagated(t *testing.T) {
	p := newPub(t)
	d1, err := p.Publish(t.Context(), "c1", files(map[string]string{"a": "AAAA"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d1+"/a", []byte("evil!"), 0o644); err != nil {
		t.Fatal(err)
	}
	d2, err := p.Publish(t.Context(), "c2", files(map[string]string{"a": "AAAA"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, d2+"/a"); got != "AAAA" {
		t.Errorf("a = %q", got)
	}
}

func TestModes(t *testing.T) {
	p := newPub(t)
	snap := Snapshot{
		fileEntry("bin/run", "#!/bin/sh\n", Executable),
		fileEntry("README", "hi", Regular),
		{Path: "docs/link", Mode: Symlink, Target: "../README", Hash: "l1"},
		{Path: "abs", Mode: Symlink, Target: "/etc/hostname", Hash: "l2"},
		{Path: "empty/dir", Mode: Dir},
	}
	d, err := p.Publish(t.Context(), "c1", snap)
	if err != nil {
		t.Fatal(err)
	}
	check := func(d string) {
		t.Helper()
		fi, err := os.Lstat(d + "/bin/run")
		if err != nil || fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("bin/run: %v %v", fi.Mode(), err)
		}
		fi, _ = os.Lstat(d + "/README")
		if fi.Mode().Perm()&0o111 != 0 {
			t.Errorf("README executable: %v", fi.Mode())
		}
		if tgt, err := os.Readlink(d + "/docs/link"); tgt != "../README" || err != nil {
			t.Errorf("docs/link -> %q %v", tgt, err)
		}
		if got := read(t, d+"/docs/link"); got != "hi" {
			t.Errorf("via symlink %q", got)
		}
		if tgt, _ := os.Readlink(d + "/abs"); tgt != "/etc/hostname" {
			t.Errorf("abs -> %q", tgt)
		}
		if fi, err := os.Stat(d + "/empty/dir"); err != nil || !fi.IsDir() {
			t.Errorf("empty/dir: %v", err)
		}
	}
	check(d)
	// Same content, mode flipped: must not be linked (the inode's mode is shared).
	snap[0].Mode = Regular
	snap[1].Mode = Executable
	d2, err := p.Publish(t.Context(), "c2", snap)
	if err != nil {
		t.Fatal(err)
	}
	if sameFile(t, d+"/bin/run", d2+"/bin/run") || sameFile(t, d+"/README", d2+"/README") {
		t.Error("mode change linked")
	}
	check(d) // old tree unaffected
}

func TestRejected(t *testing.T) {
	outside := t.TempDir()
	cases := []struct {
		name string
		snap Snapshot
	}{
		{"dotdot", files(map[string]string{"ok": "1", "../escape": "x"})},
		{"inner dotdot", files(map[string]string{"a/../../escape": "x"})},
		{"absolute", files(map[string]string{filepath.Join(outside, "escape"): "x"})},
		{"dot git", files(map[string]string{".git/config": "x"})},
		{"below symlink", Snapshot{
			{Path: "a", Mode: Symlink, Target: outside, Hash: "l"},
			fileEntry("a/escape", "x", Regular),
		}},
		{"below file", Snapshot{fileEntry("a", "1", Regular), fileEntry("a/b", "2", Regular)}},
		{"duplicate", Snapshot{fileEntry("a", "1", Regular), fileEntry("a", "2", Regular)}},
		{"size mismatch", Snapshot{fileEntry("a", "1", Regular), func() Entry { e := fileEntry("b", "22", Regular); e.Size = 5; return e }()}},
		{"open fails", Snapshot{fileEntry("a", "1", Regular), {Path: "b", Mode: Regular, Hash: "x", Open: func() (io.ReadCloser, error) { return nil, errors.New("boom") }}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPub(t)
			if _, err := p.Publish(t.Context(), "c0", files(map[string]string{"keep": "k"})); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Publish(t.Context(), "c1", tc.snap); err == nil {
				t.Fatal("published")
			}
			if cur, _ := p.Current(); cur != "c0" {
				t.Errorf("current %q", cur)
			}
			trees, _ := p.trees()
			if !slices.Equal(trees, []string{"c0"}) {
				t.Errorf("trees %v", trees)
			}
			ents, _ := os.ReadDir(filepath.Join(p.Root, ".worktrees"))
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), tmpPrefix) {
					t.Errorf("leftover %s", e.Name())
				}
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Errorf("wrote outside: %v", ents)
			}
		})
	}
	p := newPub(t)
	for _, name := range []string{"", ".", "..", ".hidden", "a/b", "../x"} {
		if _, err := p.Publish(t.Context(), name, nil); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("name %q: %v", name, err)
		}
	}
}

func TestCrashLeftoverCleaned(t *testing.T) {
	root := t.TempDir()
	wt := filepath.Join(root, ".worktrees")
	if err := os.MkdirAll(wt+"/.tmp-c9-deadbeef/sub", 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(wt+"/.tmp-c9-deadbeef/sub/f", []byte("half"), 0o644)
	os.Symlink("x", filepath.Join(root, linkTmp+"ABC"))
	p := &Publisher{Root: root, Link: "current", NoSync: true}
	defer p.Close()
	if _, err := p.Publish(t.Context(), "c1", files(map[string]string{"a": "1"})); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(wt + "/.tmp-c9-deadbeef"); !os.IsNotExist(err) {
		t.Errorf("leftover tree: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(root, linkTmp+"ABC")); !os.IsNotExist(err) {
		t.Errorf("leftover link: %v", err)
	}
}

func TestRepublishAndRevert(t *testing.T) {
	p := newPub(t)
	p.StaleTimeout = time.Hour
	a := files(map[string]string{"f": "A"})
	d1, _ := p.Publish(t.Context(), "a", a)
	if d, err := p.Publish(t.Context(), "a", a); err != nil || d != d1 {
		t.Fatal(d, err)
	}
	p.Publish(t.Context(), "b", files(map[string]string{"f": "B"}))
	p.Publish(t.Context(), "c", files(map[string]string{"f": "C"}))
	// Revert to a, still on disk: reused.
	d, err := p.Publish(t.Context(), "a", a)
	if err != nil || d != d1 {
		t.Fatal(d, err)
	}
	if got := read(t, filepath.Join(p.Root, "current/f")); got != "A" {
		t.Errorf("f = %q", got)
	}
	if p.st.Previous != "c" {
		t.Errorf("previous %q", p.st.Previous)
	}
}

func TestStaleCleanup(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	p := newPub(t)
	p.StaleTimeout = 10 * time.Second
	p.Now = func() time.Time { return now }
	pub := func(name string) {
		t.Helper()
		if _, err := p.Publish(t.Context(), name, files(map[string]string{"f": name})); err != nil {
			t.Fatal(err)
		}
	}
	want := func(names ...string) {
		t.Helper()
		got, _ := p.trees()
		if !slices.Equal(got, names) {
			t.Errorf("at +%v trees %v, want %v", now.Sub(t0), got, names)
		}
	}
	pub("a") // t0
	now = now.Add(time.Second)
	pub("b") // a retired at t0+1s
	now = now.Add(time.Second)
	pub("c") // b retired at t0+2s; a is neither current nor previous
	now = now.Add(time.Second)
	pub("d") // c retired at t0+3s, previous
	want("a", "b", "c", "d")
	if err := p.Cleanup(t0.Add(11*time.Second - 1)); err != nil {
		t.Fatal(err)
	}
	want("a", "b", "c", "d")
	p.Cleanup(t0.Add(11 * time.Second)) // a stale
	want("b", "c", "d")
	p.Cleanup(t0.Add(time.Hour)) // b stale; c is previous: kept by default
	want("c", "d")
	p.RemovePrevious = true
	p.Cleanup(t0.Add(time.Hour))
	want("d")
	// StaleTimeout 0 keeps current and previous, removes older at once.
	p.StaleTimeout, p.RemovePrevious = 0, false
	pub("e")
	pub("f")
	want("e", "f")
	mans, _ := os.ReadDir(filepath.Join(p.Root, ".worktrees", manifestsDir))
	if len(mans) != 2 {
		t.Errorf("manifests %v", mans)
	}
}

func TestStaleSurvivesRestart(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	p := newPub(t)
	p.StaleTimeout = 10 * time.Second
	p.Now = func() time.Time { return now }
	for _, n := range []string{"a", "b", "c"} {
		p.Publish(t.Context(), n, files(map[string]string{"f": n}))
	}
	p.Close()
	// A restart much later: a was retired at t0, so it is stale now.
	p2 := &Publisher{Root: p.Root, Link: "current", NoSync: true, StaleTimeout: 10 * time.Second}
	defer p2.Close()
	if err := p2.Cleanup(t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, _ := p2.trees()
	if !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("trees %v", got)
	}
}

// TestReaderDuringSwap: a reader resolves the link, reads checksum.txt and
// every data file and checks they agree, while 50 publishes happen; reading
// through the link path itself must never fail either.
func TestReaderDuringSwap(t *testing.T) {
	p := newPub(t)
	p.NoSync = false
	p.StaleTimeout = time.Hour // the reader may hold a tree for a while
	snap := func(v int) Snapshot {
		m := map[string]string{}
		h := sha256.New()
		for i := range 20 {
			c := fmt.Sprintf("file %d\n", i)
			if i%3 == v%3 || i == 0 {
				c = fmt.Sprintf("file %d version %d\n", i, v)
			}
			m[fmt.Sprintf("data/%02d", i)] = c
			h.Write([]byte(c))
		}
		m["checksum.txt"] = fmt.Sprintf("%x\n", h.Sum(nil))
		return files(m)
	}
	if _, err := p.Publish(t.Context(), "v0", snap(0)); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(p.Root, "current")
	var done atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for !done.Load() {
			if _, err := os.ReadFile(link + "/checksum.txt"); err != nil {
				t.Errorf("via link: %v", err)
				return
			}
			dir, err := filepath.EvalSymlinks(link)
			if err != nil {
				t.Errorf("resolve: %v", err)
				return
			}
			want, err := os.ReadFile(dir + "/checksum.txt")
			if err != nil {
				t.Errorf("checksum: %v", err)
				return
			}
			h := sha256.New()
			for i := range 20 {
				b, err := os.ReadFile(fmt.Sprintf("%s/data/%02d", dir, i))
				if err != nil {
					t.Errorf("data: %v", err)
					return
				}
				h.Write(b)
			}
			if got := fmt.Sprintf("%x\n", h.Sum(nil)); !bytes.Equal([]byte(got), want) {
				t.Errorf("%s: checksum mismatch", dir)
				return
			}
			reads.Add(1)
		}
	})
	for v := 1; v <= 50; v++ {
		if _, err := p.Publish(t.Context(), fmt.Sprintf("v%d", v), snap(v)); err != nil {
			t.Error(err)
			break
		}
	}
	done.Store(true)
	wg.Wait()
	if cur, _ := p.Current(); cur != "v50" {
		t.Errorf("current %q", cur)
	}
	t.Logf("%d consistent reads during 50 publishes", reads.Load())
}

func TestValidPath(t *testing.T) {
	for _, tc := range validPathCases {
		if err := ValidPath(tc.p); (err == nil) != tc.ok {
			t.Errorf("ValidPath(%q) = %v, want ok=%v", tc.p, err, tc.ok)
		}
	}
}

var validPathCases = []struct {
	p  string
	ok bool
}{
	{"a", true}, {"a/b/c.txt", true}, {".github/x", true}, {"..a", true}, {"a..", true}, {"...", true},
	{"", false}, {"/a", false}, {"..", false}, {"../a", false}, {"a/../b", false}, {"a/..", false},
	{".", false}, {"./a", false}, {"a/./b", false}, {"a//b", false}, {"a/", false},
	{"a\\..\\b", false}, {"a\x00b", false}, {".git", false}, {"a/.GIT/hooks", false},
}

func FuzzValidPath(f *testing.F) {
	for _, tc := range validPathCases {
		f.Add(tc.p)
	}
	base := "/base/tree"
	f.Fuzz(func(t *testing.T, p string) {
		if ValidPath(p) != nil {
			return
		}
		if !filepath.IsLocal(p) {
			t.Fatalf("accepted non-local %q", p)
		}
		j := filepath.Join(base, p)
		if !strings.HasPrefix(j, base+"/") || j != base+"/"+p {
			t.Fatalf("accepted %q: joins to %q", p, j)
		}
		for _, e := range strings.Split(p, "/") {
			if e == ".." || e == "." || e == "" {
				t.Fatalf("accepted %q", p)
			}
		}
	})
}
