// Package publish publishes snapshots of a git tree as worktree directories
// under a root and points a symlink at the newest one: the "serve files from
// a shared volume" half of the sidecar pattern (Burns & Oppenheimer 2016,
// section 4.1) that podkit gitsync uses in place of kubernetes/git-sync.
//
// The layout is git-sync v4's, so a root it wrote can be taken over:
//
//	ROOT/.worktrees/NAME          one complete tree per published snapshot
//	ROOT/LINK -> .worktrees/NAME  relative, so it resolves in any mount path
//
// plus the publisher's own files, all hidden from Cleanup's worktree scan:
//
//	ROOT/.worktrees/.manifests/NAME  what NAME holds (path, mode, hash, size, mtime)
//	ROOT/.worktrees/.state.json      current, previous, when each old tree was retired
//	ROOT/.worktrees/.tmp-*           a tree being built (removed at start if a publish crashed)
//
// # Incremental publishing
//
// git-sync checks every commit out in full into a new worktree, which is why
// its push-to-swap latency grows with the tree. Publish instead hard-links
// every file whose Path, Mode and Hash equal the current worktree's entry
// (and whose size and mtime on disk still match the manifest, so a file a
// reader modified in place is not propagated), and writes only the others.
// A written file is always a new inode (O_CREATE|O_EXCL in a fresh
// directory), so no published tree, and no tree sharing an inode with it,
// ever changes under a reader. Symlinks are recreated, not linked.
//
// # Atomic swap
//
// The tree is built under .worktrees/.tmp-*, written files and all its
// directories are fsynced, the manifest is written, the tree is renamed to
// .worktrees/NAME, and only then is LINK replaced: a temporary symlink is
// created beside it and renamed over it (rename(2) is atomic), so a reader
// resolving LINK sees the old tree or the new one, never a missing or
// half-written one. A reader that reads several files should resolve LINK
// once (os.Readlink or filepath.EvalSymlinks) and read below that directory;
// the tree stays valid for at least StaleTimeout after the swap.
//
// # Removing old trees
//
// git-sync's default --stale-worktree-timeout=0 deletes the old tree at
// once, pulling it from under readers that resolved the link a moment
// earlier (kubernetes/git-sync#692). Here an old tree is removed only when
// StaleTimeout has passed since it stopped being the link target, and never
// while it is the current or (unless RemovePrevious) the previous one. So
// disk holds at most the current tree, the previous one and those retired
// within StaleTimeout; unchanged files are shared between them.
//
// One Publisher owns a root; two processes must not publish into the same
// root at once.
package publish

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

const (
	worktreesDir = ".worktrees"
	manifestsDir = ".manifests"
	stateFile    = ".state.json"
	tmpPrefix    = ".tmp-"
	linkTmp      = ".podkit-link-tmp-"
)

// ErrCleanup is wrapped by a Publish error when the snapshot was published
// and the link swapped but removing old trees failed.
var ErrCleanup = errors.New("cleanup failed")

// Publisher publishes snapshots under Root. Set the fields before the first
// call; its methods are safe for concurrent use and serialised.
type Publisher struct {
	Root string // required; created if missing
	// Link is the symlink readers use, relative to Root unless absolute
	// (git-sync --link). Its directory must be on the same filesystem as Root.
	Link string
	// StaleTimeout is how long a tree stays after it stopped being the link
	// target (git-sync --stale-worktree-timeout). 0 removes it at the next
	// Cleanup, but see RemovePrevious.
	StaleTimeout time.Duration
	// RemovePrevious lets Cleanup remove the previous tree too once it is
	// stale. By default it is kept until the next publish.
	RemovePrevious bool
	// NoSync skips every fsync (tmpfs, tests). After a crash the link may
	// then point at a torn tree.
	NoSync bool
	Now    func() time.Time // nil: time.Now

	mu      sync.Mutex
	loaded  bool
	wt      *os.Root // ROOT/.worktrees
	wtAbs   string
	linkAbs string
	st      state
	curMan  map[string]record // manifest of st.Current
	stats   Stats
}

// Stats counts what Publish did, cumulatively.
type Stats struct {
	Publishes    int64 // link swaps
	FilesLinked  int64 // hard links to the previous tree
	FilesWritten int64
	BytesWritten int64
	TreesRemoved int64
}

// Stats returns the counters so far.
func (p *Publisher) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Close releases the handle on ROOT/.worktrees. The published trees stay.
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.wt == nil {
		return nil
	}
	err := p.wt.Close()
	p.wt, p.loaded = nil, false
	return err
}

func (p *Publisher) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Current returns the name of the tree the link points at ("" if none).
func (p *Publisher) Current() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.load(); err != nil {
		return "", err
	}
	return p.st.Current, nil
}

// Publish makes ROOT/.worktrees/name hold exactly snap and points the link
// at it, returning the tree's absolute path. Publishing the current name
// again does nothing; publishing a name that is still on disk (a revert to a
// commit within StaleTimeout) reuses that tree. On error nothing is
// published and the link is unchanged, unless the error wraps ErrCleanup.
func (p *Publisher) Publish(ctx context.Context, name string, snap Snapshot) (string, error) {
	if err := validName(name); err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	if err := snap.validate(); err != nil {
		return "", fmt.Errorf("publish %s: %w", name, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.load(); err != nil {
		return "", err
	}
	dir := filepath.Join(p.wtAbs, name)
	if name == p.st.Current {
		return dir, nil
	}
	var man map[string]record
	if _, err := p.wt.Lstat(name); err == nil {
		m, err := p.readManifest(name)
		if err != nil {
			return "", fmt.Errorf("publish %s: tree exists without a usable manifest: %w", name, err)
		}
		man = m
	} else {
		if man, err = p.build(ctx, name, snap); err != nil {
			return "", fmt.Errorf("publish %s: %w", name, err)
		}
	}
	now := p.now()
	if err := p.swap(name); err != nil {
		if _, ok := p.st.Retired[name]; !ok {
			p.st.Retired[name] = now // complete but unused: Cleanup's to remove
		}
		return "", fmt.Errorf("publish %s: %w", name, err)
	}
	p.stats.Publishes++
	if old := p.st.Current; old != "" {
		p.st.Retired[old] = now
		p.st.Previous = old
	}
	p.st.Current = name
	p.st.dirty = true
	delete(p.st.Retired, name)
	p.curMan = man
	if err := p.cleanup(now); err != nil {
		return dir, fmt.Errorf("publish %s: %w: %w", name, ErrCleanup, err)
	}
	return dir, nil
}

// build writes the tree into a temporary directory, its manifest, and
// renames the tree into place.
func (p *Publisher) build(ctx context.Context, name string, snap Snapshot) (map[string]record, error) {
	tmp := tmpPrefix + name + "-" + rand.Text()[:8]
	if err := p.wt.Mkdir(tmp, 0o755); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			p.wt.RemoveAll(tmp)
		}
	}()
	man := make(map[string]record, len(snap))
	dirs := []string{tmp}
	made := map[string]bool{".": true}
	// Parent first, one Mkdir each, each directory once.
	var mkdirs func(d string) error
	mkdirs = func(d string) error {
		if made[d] {
			return nil
		}
		if err := mkdirs(path.Dir(d)); err != nil {
			return err
		}
		if err := p.wt.Mkdir(tmp+"/"+d, 0o755); err != nil {
			return err
		}
		made[d] = true
		dirs = append(dirs, tmp+"/"+d)
		return nil
	}
	var st Stats
	for i := range snap {
		e := &snap[i]
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		dst := tmp + "/" + e.Path
		switch e.Mode {
		case Dir:
			if err := mkdirs(e.Path); err != nil {
				return nil, err
			}
			man[e.Path] = record{Mode: Dir}
			continue
		}
		if err := mkdirs(path.Dir(e.Path)); err != nil {
			return nil, err
		}
		switch e.Mode {
		case Symlink:
			if err := p.wt.Symlink(e.Target, dst); err != nil {
				return nil, err
			}
			man[e.Path] = record{Mode: Symlink, Hash: e.Hash}
		case Regular, Executable:
			if r, ok := p.curMan[e.Path]; ok && r.Mode == e.Mode && r.Hash == e.Hash && r.Size == e.Size &&
				p.unchanged(p.st.Current+"/"+e.Path, r) &&
				p.wt.Link(p.st.Current+"/"+e.Path, dst) == nil {
				man[e.Path] = r
				st.FilesLinked++
				continue
			}
			r, err := p.writeFile(dst, e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", e.Path, err)
			}
			man[e.Path] = r
			st.FilesWritten++
			st.BytesWritten += r.Size
		}
	}
	if !p.NoSync {
		for _, d := range dirs {
			if err := p.syncPath(d); err != nil {
				return nil, err
			}
		}
	}
	if err := p.writeManifest(name, man); err != nil {
		return nil, err
	}
	if err := p.wt.Rename(tmp, name); err != nil {
		p.wt.Remove(manifestsDir + "/" + name)
		return nil, err
	}
	ok = true
	if !p.NoSync {
		if err := p.syncPath("."); err != nil {
			return nil, err
		}
	}
	p.stats.FilesLinked += st.FilesLinked
	p.stats.FilesWritten += st.FilesWritten
	p.stats.BytesWritten += st.BytesWritten
	return man, nil
}

// unchanged reports whether the file at rel (in .worktrees) still looks as
// recorded: same kind, exec bit, size and mtime (git's index uses the same
// cheap test).
func (p *Publisher) unchanged(rel string, r record) bool {
	fi, err := p.wt.Lstat(rel)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	exec := fi.Mode().Perm()&0o100 != 0
	return exec == (r.Mode == Executable) && fi.Size() == r.Size && fi.ModTime().UnixNano() == r.Mtime
}

func (p *Publisher) writeFile(dst string, e *Entry) (record, error) {
	perm := os.FileMode(0o644)
	if e.Mode == Executable {
		perm = 0o755
	}
	// O_EXCL: always a new inode, never one shared with a published tree.
	f, err := p.wt.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return record{}, err
	}
	defer f.Close()
	rc, err := e.Open()
	if err != nil {
		return record{}, err
	}
	n, err := io.Copy(f, rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return record{}, err
	}
	if n != e.Size {
		return record{}, fmt.Errorf("content is %d bytes, entry says %d", n, e.Size)
	}
	if !p.NoSync {
		if err := f.Sync(); err != nil {
			return record{}, err
		}
	}
	fi, err := f.Stat()
	if err != nil {
		return record{}, err
	}
	if err := f.Close(); err != nil {
		return record{}, err
	}
	return record{Mode: e.Mode, Hash: e.Hash, Size: n, Mtime: fi.ModTime().UnixNano()}, nil
}

func (p *Publisher) syncPath(rel string) error {
	f, err := p.wt.Open(rel)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// swap points the link at .worktrees/name: a new symlink beside it, renamed
// over it.
func (p *Publisher) swap(name string) error {
	ldir := filepath.Dir(p.linkAbs)
	target, err := filepath.Rel(ldir, filepath.Join(p.wtAbs, name))
	if err != nil {
		return err
	}
	tmp := filepath.Join(ldir, linkTmp+rand.Text()[:8])
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("swap link: %w", err)
	}
	if err := os.Rename(tmp, p.linkAbs); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("swap link: %w", err)
	}
	if !p.NoSync {
		if d, err := os.Open(ldir); err == nil {
			err = d.Sync()
			d.Close()
			if err != nil {
				return fmt.Errorf("swap link: sync %s: %w", ldir, err)
			}
		}
	}
	return nil
}

// linkName returns the worktree name the link points at, "" if the link is
// missing or points elsewhere.
func (p *Publisher) linkName() (string, error) {
	t, err := os.Readlink(p.linkAbs)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("publish: read link: %w", err)
	}
	if !filepath.IsAbs(t) {
		t = filepath.Join(filepath.Dir(p.linkAbs), t)
	}
	t = filepath.Clean(t)
	if filepath.Dir(t) != p.wtAbs || validName(filepath.Base(t)) != nil {
		return "", nil
	}
	return filepath.Base(t), nil
}

// load opens the root once: removes leftovers of a crashed publish, reads
// the link, state and current manifest.
func (p *Publisher) load() error {
	if p.loaded {
		return nil
	}
	if p.Root == "" || p.Link == "" {
		return errors.New("publish: Root and Link are required")
	}
	root, err := filepath.Abs(p.Root)
	if err != nil {
		return fmt.Errorf("publish: root: %w", err)
	}
	p.wtAbs = filepath.Join(root, worktreesDir)
	p.linkAbs = p.Link
	if !filepath.IsAbs(p.linkAbs) {
		p.linkAbs = filepath.Join(root, p.linkAbs)
	}
	p.linkAbs = filepath.Clean(p.linkAbs)
	if err := os.MkdirAll(filepath.Join(p.wtAbs, manifestsDir), 0o755); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	wt, err := os.OpenRoot(p.wtAbs)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	// Leftovers of a crashed publish: half-built trees and temporary links.
	ents, err := os.ReadDir(p.wtAbs)
	if err != nil {
		wt.Close()
		return fmt.Errorf("publish: %w", err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := wt.RemoveAll(e.Name()); err != nil {
				wt.Close()
				return fmt.Errorf("publish: remove leftover: %w", err)
			}
		}
	}
	if ents, err := os.ReadDir(filepath.Dir(p.linkAbs)); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), linkTmp) {
				os.Remove(filepath.Join(filepath.Dir(p.linkAbs), e.Name()))
			}
		}
	}
	p.wt = wt
	cur, err := p.linkName()
	if err != nil {
		wt.Close()
		p.wt = nil
		return err
	}
	p.st = p.readState(cur)
	if cur != "" {
		if m, err := p.readManifest(cur); err == nil {
			p.curMan = m
		} // else: a tree we did not write (git-sync's); the next publish writes in full
	}
	// Trees with no retirement time (written by someone else, or state
	// lost) count as retired now: the full StaleTimeout from start.
	now := p.now()
	ents, _ = os.ReadDir(p.wtAbs)
	for _, e := range ents {
		n := e.Name()
		if n[0] == '.' || n == cur {
			continue
		}
		if _, ok := p.st.Retired[n]; !ok {
			p.st.Retired[n] = now
		}
	}
	p.loaded = true
	return nil
}
