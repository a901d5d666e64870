// Package gitsync keeps a directory in sync with a git repository: the
// sidecar pattern (Burns & Oppenheimer 2016, section 4.1), a drop-in for
// kubernetes/git-sync v4 that needs no git executable.
//
// Each period it asks the remote for its refs (one round trip, no
// objects); only when the ref moved does it fetch, shallow, into
// ROOT/.git, and publish the commit's tree as ROOT/.worktrees/HASH with
// package publish: unchanged files are hard-linked from the previous tree,
// and the link is swapped by rename once the tree is complete. A failure
// of any kind leaves the last good tree served; a local repository that
// cannot be read is thrown away and fetched again.
package gitsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/podkit/podkit/pkg/gitsync/hook"
	"github.com/podkit/podkit/pkg/gitsync/publish"
)

// maxBackoff caps the pause after consecutive failures.
const maxBackoff = 30 * time.Second

// Syncer syncs one repository into one root.
type Syncer struct {
	cfg    Config
	log    *slog.Logger
	gitDir string
	sparse *sparse
	rem    *remote
	m      *metrics
	pub    *publish.Publisher
	sn     snapshotter
	hooks  []*hook.Queue

	repo       *git.Repository
	lastRemote plumbing.Hash // what the ref named at the last good sync
	current    plumbing.Hash // the published commit
	suspect    int           // failures after the remote answered: a broken local repository?
	packs      int           // fetches since the last compaction
	baseBytes  int64         // pack bytes after the first fetch since then

	mu      sync.Mutex
	lastErr error
}

// New checks cfg and reads the files it names (sparse patterns, CA); it
// starts nothing.
func New(cfg Config) (*Syncer, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	s := &Syncer{cfg: cfg, log: cfg.Logger, gitDir: filepath.Join(cfg.Root, ".git")}
	var err error
	if s.m, err = newMetrics(cfg.Registry); err != nil {
		return nil, fmt.Errorf("gitsync: metrics: %w", err)
	}
	if s.sparse, err = loadSparse(cfg.SparseCheckoutFile); err != nil {
		return nil, err
	}
	if s.rem, err = newRemote(&s.cfg, cfg.Repo); err != nil {
		return nil, err
	}
	s.sn.s = s
	if err := s.newHooks(); err != nil {
		return nil, err
	}
	return s, nil
}

// Name implements the daemon component interface.
func (s *Syncer) Name() string { return "gitsync" }

// Ready is nil from the first good sync on: a failure later leaves the
// last good tree served, so the pod stays ready.
func (s *Syncer) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.current.IsZero() {
		return nil
	}
	if s.lastErr != nil {
		return fmt.Errorf("gitsync: not synced yet: %v", s.lastErr)
	}
	return errors.New("gitsync: not synced yet")
}

// Current returns the published commit and its tree ("" before the first sync).
func (s *Syncer) Current() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current.IsZero() {
		return ""
	}
	return s.current.String()
}

// Run syncs every Period until ctx ends (nil), or until MaxFailures
// consecutive failures (the last error). With OneTime it syncs once, runs
// the hooks once, and returns.
func (s *Syncer) Run(ctx context.Context) error {
	if err := os.MkdirAll(s.cfg.Root, 0o755); err != nil {
		return fmt.Errorf("gitsync: root: %w", err)
	}
	// As git-sync does, the directories above --link are created.
	link := s.cfg.Link
	if !filepath.IsAbs(link) {
		link = filepath.Join(s.cfg.Root, link)
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return fmt.Errorf("gitsync: link: %w", err)
	}
	s.rem.install()
	s.removeLeftovers()
	s.pub = &publish.Publisher{Root: s.cfg.Root, Link: s.cfg.Link, StaleTimeout: s.cfg.StaleWorktreeTimeout, NoSync: s.cfg.NoFsync}
	defer s.pub.Close()
	defer func() { closeRepo(s.repo); s.repo = nil }()
	s.log.Info("gitsync starting", "repo", safeURL(s.cfg.Repo), "ref", s.cfg.Ref, "root", s.cfg.Root, "link", s.cfg.Link,
		"period", s.cfg.Period.String(), "depth", s.cfg.Depth)

	var wg sync.WaitGroup
	if !s.cfg.OneTime {
		hctx, stopHooks := context.WithCancel(ctx)
		defer func() { stopHooks(); wg.Wait() }()
		for _, q := range s.hooks {
			wg.Go(func() { q.Run(hctx) })
		}
	}
	failures := 0
	for {
		dir, err := s.attempt(ctx)
		switch {
		case ctx.Err() != nil:
			return s.stopped(ctx)
		case err == nil && s.cfg.OneTime:
			return s.runHooksOnce(ctx, dir)
		case err == nil:
			failures = 0
		default:
			// As git-sync, --one-time retries up to --max-failures too (an
			// init container survives a blip), and -1 retries forever.
			failures++
			if s.cfg.MaxFailures >= 0 && failures > s.cfg.MaxFailures {
				return fmt.Errorf("gitsync: %d consecutive failures (--max-failures %d): %w", failures, s.cfg.MaxFailures, err)
			}
		}
		s.m.failures.Set(float64(failures))
		select {
		case <-ctx.Done():
			return s.stopped(ctx)
		case <-time.After(s.pause(failures)):
		}
	}
}

// stopped is Run's result when ctx ends: a daemon stops cleanly, but a
// --one-time that did not sync must not report success to the init.
func (s *Syncer) stopped(ctx context.Context) error {
	if s.cfg.OneTime {
		return ctx.Err()
	}
	return nil
}

// pause is the wait before the next attempt: the period, doubled per
// consecutive failure up to maxBackoff (a period over that stays as is,
// and the shift cannot overflow).
func (s *Syncer) pause(failures int) time.Duration {
	p := s.cfg.Period
	if failures == 0 || p >= maxBackoff {
		return p
	}
	return min(maxBackoff, p<<min(failures-1, 20))
}

// attempt is one sync with its metrics and logs; it returns the tree
// published (or already current).
func (s *Syncer) attempt(ctx context.Context) (string, error) {
	start := time.Now()
	dir, changed, err := s.sync(ctx)
	status := "noop"
	switch {
	case err != nil && ctx.Err() != nil:
		return "", ctx.Err()
	case err != nil:
		status = "error"
		err = errors.New(scrub(err.Error(), s.cfg.Repo, s.cfg.Password))
		s.log.Warn("sync failed; the last good tree is still served", "err", err, "took", time.Since(start).Round(time.Millisecond).String())
	case changed:
		status = "success"
		s.log.Info("synced", "hash", s.Current(), "took", time.Since(start).Round(time.Millisecond).String())
	}
	s.m.syncs.WithLabelValues(status).Inc()
	s.m.duration.WithLabelValues(status).Observe(time.Since(start).Seconds())
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
	if err == nil {
		s.m.lastOK.SetToCurrentTime()
	}
	return dir, err
}

// sync checks the ref and, if it moved, fetches and publishes it.
func (s *Syncer) sync(ctx context.Context) (dir string, changed bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SyncTimeout)
	defer cancel()
	if s.repo == nil {
		if s.repo, err = openOrInit(s.gitDir); err != nil {
			s.reclone(err)
			if s.repo, err = openOrInit(s.gitDir); err != nil {
				return "", false, fmt.Errorf("local repository %s: %w", s.gitDir, err)
			}
		}
	}
	t, err := s.rem.resolve(ctx, s.repo, s.cfg.Ref)
	if err != nil {
		return "", false, err
	}
	if t.hash == s.lastRemote && !s.current.IsZero() {
		return s.treeDir(), false, nil
	}
	commit, err := t.hash, error(nil)
	if _, cerr := s.repo.CommitObject(t.hash); t.ref != "" || cerr != nil {
		// A commit given by hash that is already here (a restart) needs
		// no fetch, nor a reachable remote.
		commit, err = s.rem.fetch(ctx, s.repo, t, s.cfg.Depth)
	}
	if err == nil {
		dir, err = s.publish(ctx, commit)
	}
	if err != nil {
		// The remote answered, so a failure here may be ours: a corrupt
		// object or pack. One retry, then a fresh clone.
		// A network error or a timeout says nothing about the local
		// repository: it neither counts nor triggers a re-clone.
		if errors.Is(err, errLocal) {
			s.reclone(err)
		} else if !remoteErr(err) && ctx.Err() == nil {
			if s.suspect++; s.suspect >= 2 {
				s.reclone(err)
			}
		}
		return "", false, err
	}
	s.suspect = 0
	s.lastRemote = t.hash
	s.housekeeping(ctx, t, commit)
	return dir, true, nil
}

func (s *Syncer) treeDir() string {
	return filepath.Join(s.cfg.Root, ".worktrees", s.current.String())
}

// publish writes commit's tree and points the link at it.
func (s *Syncer) publish(ctx context.Context, commit plumbing.Hash) (string, error) {
	if commit == s.current {
		return s.treeDir(), nil
	}
	snap, err := s.sn.snapshot(ctx, s.repo, commit)
	defer s.sn.release() // the snapshot reads submodule repositories until published
	if err != nil {
		return "", err
	}
	before := s.pub.Stats()
	dir, err := s.pub.Publish(ctx, commit.String(), snap)
	if err != nil && !errors.Is(err, publish.ErrCleanup) {
		return "", fmt.Errorf("publish %s: %w", commit, err)
	}
	if err != nil {
		s.log.Warn("new tree published; removing old trees failed", "err", err)
	}
	after := s.pub.Stats()
	s.m.swaps.Add(float64(after.Publishes - before.Publishes))
	s.m.written.Add(float64(after.FilesWritten - before.FilesWritten))
	s.m.linked.Add(float64(after.FilesLinked - before.FilesLinked))
	s.m.bytes.Add(float64(after.BytesWritten - before.BytesWritten))
	// Keep the published commit: the next shallow fetch sends it as "have".
	if err := s.repo.Storer.SetReference(plumbing.NewHashReference(syncedRef, commit)); err != nil {
		return "", localErr(err)
	}
	s.mu.Lock()
	s.current = commit
	s.mu.Unlock()
	s.touch()
	for _, q := range s.hooks {
		q.Send(commit.String(), dir)
	}
	// A fetch and a publish are a spike (packs parsed, files copied) in a
	// process that then idles for a period or more; polls allocate too
	// steadily for the daemon's idle-time release to see it, so the spike's
	// pages are given back here, once per new commit.
	debug.FreeOSMemory()
	return dir, nil
}

// reclone throws the local repository away; the next sync fetches anew.
// Only ROOT/.git is removed: the published trees stay served.
func (s *Syncer) reclone(cause error) {
	s.log.Warn("local repository unusable: removing it, the next sync fetches again", "err", scrub(cause.Error(), s.cfg.Repo, s.cfg.Password))
	s.m.reclones.Inc()
	closeRepo(s.repo)
	s.repo, s.suspect, s.packs, s.baseBytes = nil, 0, 0, 0
	s.sn.sizes = nil
	s.lastRemote = plumbing.ZeroHash
	if err := os.RemoveAll(s.gitDir); err != nil {
		s.log.Error("removing the local repository failed", "dir", s.gitDir, "err", err)
	}
}

// touch updates --touch-file after a new commit is published.
func (s *Syncer) touch() {
	if s.cfg.TouchFile == "" {
		return
	}
	p := s.cfg.TouchFile
	if !filepath.IsAbs(p) {
		p = filepath.Join(s.cfg.Root, p)
	}
	now := time.Now()
	if err := os.Chtimes(p, now, now); errors.Is(err, os.ErrNotExist) {
		var f *os.File
		// As git-sync, the directories above the touch file are created.
		if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
			f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
		}
		if err == nil {
			err = f.Close()
		}
		if err != nil {
			s.log.Warn("touch file not created", "path", p, "err", err)
		}
	} else if err != nil {
		s.log.Warn("touch file not updated", "path", p, "err", err)
	}
}
