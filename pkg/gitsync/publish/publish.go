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
//	ROOT/.worktrees/.tmp-*           a tree being built, or the next one's directories made
//	                                 in advance (removed at start if a publish crashed)
//	ROOT/.worktrees/.trash-*         an old tree being deleted in the background
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
// On Linux the tree is filled by a few goroutines, one directory each,
// through directory descriptors opened one path element at a time with
// O_NOFOLLOW (mkdirat, linkat, openat with O_EXCL), so nothing is written
// or linked through a symlink, not even one a reader put into the current
// tree. Entry.Open is still called one at a time. After each publish the
// next tree's directories are made in advance in the background (see
// spare.go), as new directories that no reader has seen.
//
// # Atomic swap
//
// The tree is built under .worktrees/.tmp-*, written files and all its
// directories are fsynced (each directory once its entries are in it; on
// ext4 or XFS concurrent fsyncs share journal commits), the manifest and
// its directory are fsynced, the tree is renamed to .worktrees/NAME and
// .worktrees fsynced, and only then is LINK replaced: a temporary symlink is
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
// After the swap Publish renames such a tree to .worktrees/.trash-* (its
// name is gone when Publish returns) and deletes its files in a background
// goroutine, which is off the push-to-swap path; a deletion that fails is
// reported, wrapping ErrCleanup, by the next Publish or Cleanup, and
// retried. Cleanup and Close wait for the deletions.
//
// One Publisher owns a root; two processes must not publish into the same
// root at once.
package publish

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
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
	trashPrefix  = ".trash-"
	linkTmp      = ".podkit-link-tmp-"
)

// ErrCleanup is wrapped by a Publish error when the snapshot was published
// and the link swapped but removing old trees failed, now or in the
// background since the last Publish or Cleanup.
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
	wtDir   *os.File // the same directory, for the *at system calls
	wtAbs   string
	linkAbs string
	st      state
	curMan  map[string]record // manifest of st.Current
	stats   Stats
	workers int // goroutines filling a tree; 0: chosen from GOMAXPROCS

	rm remover // deletes old trees in the background
	sp spare   // the next build's directories, made in the background
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

// Close waits for old trees being deleted in the background, returning
// what failed there, and releases the handle on ROOT/.worktrees. The
// published trees stay.
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.rm.wait()
	if p.wt == nil {
		return err
	}
	if name, _ := p.takeSpare(); name != "" {
		err = errors.Join(err, p.wt.RemoveAll(name))
	}
	err = errors.Join(err, p.wtDir.Close(), p.wt.Close())
	p.wt, p.wtDir, p.loaded = nil, nil, false
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
	err := p.cleanup(now)
	p.startSpare()
	if err != nil {
		return dir, fmt.Errorf("publish %s: %w: %w", name, ErrCleanup, err)
	}
	return dir, nil
}

// build fills a temporary directory with snap, writes the manifest and
// renames the tree into place. When it returns nil the tree and its
// manifest are durable (unless NoSync).
func (p *Publisher) build(ctx context.Context, name string, snap Snapshot) (map[string]record, error) {
	o := fillOpts{sync: !p.NoSync}
	if p.curMan != nil {
		o.from, o.fromMan = p.st.Current, p.curMan
	}
	tmp, premade := p.takeSpare()
	if tmp != "" {
		o.premade = premade
	} else {
		tmp = tmpPrefix + name + "-" + rand.Text()[:8]
		if err := p.wt.Mkdir(tmp, 0o755); err != nil {
			return nil, err
		}
	}
	ok := false
	defer func() {
		if !ok {
			p.wt.RemoveAll(tmp)
		}
	}()
	recs, st, err := p.fill(ctx, tmp, snap, o)
	if err != nil {
		return nil, err
	}
	man := make(map[string]record, len(snap))
	for i := range snap {
		if snap[i].Mode == Dir {
			recs[i] = record{Mode: Dir}
		}
		man[snap[i].Path] = recs[i]
	}
	if err := p.writeManifest(name, man); err != nil {
		return nil, err
	}
	if !p.NoSync {
		// A tree must never be durable without its manifest: Publish
		// refuses to reuse such a tree.
		if err := p.syncPath(manifestsDir); err != nil {
			p.wt.Remove(manifestsDir + "/" + name)
			return nil, err
		}
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
	wtDir, err := wt.Open(".")
	if err != nil {
		wt.Close()
		return fmt.Errorf("publish: %w", err)
	}
	fail := func(err error) error {
		wtDir.Close()
		wt.Close()
		p.wt, p.wtDir = nil, nil
		return err
	}
	// Leftovers of a crashed publish: half-built trees and temporary links.
	ents, err := os.ReadDir(p.wtAbs)
	if err != nil {
		return fail(fmt.Errorf("publish: %w", err))
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := wt.RemoveAll(e.Name()); err != nil {
				return fail(fmt.Errorf("publish: remove leftover: %w", err))
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
	p.wt, p.wtDir = wt, wtDir
	cur, err := p.linkName()
	if err != nil {
		return fail(err)
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
