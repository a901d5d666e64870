package gitsync

import (
	"context"
	"io"
	"os"
	"path/filepath"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// compactAfter is the least number of fetches --git-gc=auto lets pile up
// before it compacts, and only once the packs hold twice what a fresh
// copy held: later fetches are incremental (see remote.fetch), so their
// packs are small and mostly live.
const compactAfter = 16

// housekeeping is --git-gc. A shallow repository needs nothing but the
// synced commit, so instead of git gc's repack and prune it fetches that
// commit into a new repository and swaps it in: the result is minimal by
// construction. It costs one download of the tree, which is why auto waits
// until the garbage is as large as the tree. A failure leaves the old
// repository in use.
func (s *Syncer) housekeeping(ctx context.Context, t target, commit plumbing.Hash) {
	switch s.cfg.GC {
	case GCOff:
		return
	case GCAuto:
		s.packs++
		size := packBytes(s.gitDir)
		if s.baseBytes == 0 {
			s.baseBytes = size
		}
		if s.packs < compactAfter || size < 2*s.baseBytes {
			return
		}
	}
	tmp, old := s.gitDir+".new", s.gitDir+".old"
	os.RemoveAll(tmp)
	repo, err := openOrInit(tmp)
	if err == nil {
		_, err = s.rem.fetch(ctx, repo, t, s.cfg.Depth)
	}
	if err == nil {
		err = repo.Storer.SetReference(plumbing.NewHashReference(syncedRef, commit))
	}
	closeRepo(repo) // its packs stay open otherwise, moved or deleted
	if err == nil {
		os.RemoveAll(old)
		if err = os.Rename(s.gitDir, old); err == nil {
			if err = os.Rename(tmp, s.gitDir); err != nil {
				os.Rename(old, s.gitDir)
			}
		}
	}
	if err != nil {
		os.RemoveAll(tmp)
		s.log.Warn("housekeeping failed; the repository is kept as it is", "err", scrub(err.Error(), s.cfg.Repo, s.cfg.Password))
		return
	}
	closeRepo(s.repo) // before its files go: open packs would keep their space
	os.RemoveAll(old)
	s.repo, s.packs, s.baseBytes = nil, 0, 0 // reopened at the next sync
	s.m.compacts.Inc()
}

// removeLeftovers deletes what a crash during housekeeping left.
func (s *Syncer) removeLeftovers() {
	os.RemoveAll(s.gitDir + ".new")
	os.RemoveAll(s.gitDir + ".old")
}

// packBytes is the size of the repository's packs.
func packBytes(gitDir string) int64 {
	packs, _ := filepath.Glob(filepath.Join(gitDir, "objects", "pack", "*.pack"))
	var n int64
	for _, p := range packs {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// closeRepo releases the pack files go-git keeps open.
func closeRepo(repo *git.Repository) {
	if repo == nil {
		return
	}
	if c, ok := repo.Storer.(io.Closer); ok {
		c.Close()
	}
}
