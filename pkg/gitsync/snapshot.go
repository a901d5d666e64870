package gitsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/podkit/podkit/pkg/gitsync/publish"
)

const (
	maxSymlinkTarget = 4096
	maxGitmodules    = 1 << 20
	maxSubmoduleDeep = 8 // nesting bound, whatever the repositories say
)

// snapshotter turns a commit into the publish.Snapshot of its tree,
// submodules included.
type snapshotter struct {
	s *Syncer
	// sizes remembers blob sizes from the previous snapshot: a size costs
	// an object lookup, and most blobs did not change.
	sizes, next map[plumbing.Hash]int64
	// subs are the submodule repositories the last snapshot opened: its
	// entries read them, so they are closed (release) once it is published.
	subs []*git.Repository
}

// release closes the submodule repositories of the last snapshot.
func (sn *snapshotter) release() {
	for _, r := range sn.subs {
		closeRepo(r)
	}
	sn.subs = nil
}

func (sn *snapshotter) snapshot(ctx context.Context, repo *git.Repository, commit plumbing.Hash) (publish.Snapshot, error) {
	sn.next = make(map[plumbing.Hash]int64, len(sn.sizes))
	var out publish.Snapshot
	err := sn.tree(ctx, repo, sn.s.cfg.Repo, commit, "", 0, &out)
	if err == nil {
		sn.sizes = sn.next
	}
	sn.next = nil
	return out, err
}

func (sn *snapshotter) tree(ctx context.Context, repo *git.Repository, repoURL string, commit plumbing.Hash, prefix string, level int, out *publish.Snapshot) error {
	c, err := repo.CommitObject(commit)
	if err != nil {
		return localErr(fmt.Errorf("commit %s: %w", commit, err))
	}
	tree, err := c.Tree()
	if err != nil {
		return localErr(fmt.Errorf("tree of %s: %w", commit, err))
	}
	var modules *gitconfig.Modules
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return localErr(fmt.Errorf("walk %s: %w", commit, err))
		}
		full := prefix + name
		switch e.Mode {
		case filemode.Dir:
			continue
		case filemode.Submodule:
			if !sn.s.sparse.includes(full) {
				continue
			}
			// As git does, an uninitialised submodule is an empty directory.
			*out = append(*out, publish.Entry{Path: full, Mode: publish.Dir})
			if sn.s.cfg.Submodules == SubmodulesOff || (sn.s.cfg.Submodules == SubmodulesShallow && level > 0) {
				continue
			}
			if level >= maxSubmoduleDeep {
				return fmt.Errorf("submodule %s: nested more than %d deep", full, maxSubmoduleDeep)
			}
			if modules == nil {
				if modules, err = readModules(tree); err != nil {
					return fmt.Errorf("%s.gitmodules: %w", prefix, err)
				}
			}
			if err := sn.submodule(ctx, modules, repoURL, name, e.Hash, full+"/", level, out); err != nil {
				return err
			}
			continue
		}
		if !sn.s.sparse.includes(full) {
			continue
		}
		size, err := sn.size(repo, e.Hash)
		if err != nil {
			return err
		}
		switch e.Mode {
		case filemode.Symlink:
			if size > maxSymlinkTarget {
				return fmt.Errorf("symlink %s: target over %d bytes", full, maxSymlinkTarget)
			}
			b, err := readBlob(repo, e.Hash)
			if err != nil {
				return err
			}
			*out = append(*out, publish.Entry{Path: full, Mode: publish.Symlink, Hash: e.Hash.String(), Target: string(b)})
		case filemode.Executable, filemode.Regular, filemode.Deprecated:
			mode := publish.Regular
			if e.Mode == filemode.Executable {
				mode = publish.Executable
			}
			h := e.Hash
			*out = append(*out, publish.Entry{Path: full, Mode: mode, Size: size, Hash: h.String(),
				Open: func() (io.ReadCloser, error) {
					o, err := repo.Storer.EncodedObject(plumbing.BlobObject, h)
					if err != nil {
						return nil, localErr(fmt.Errorf("blob %s: %w", h, err))
					}
					return o.Reader()
				}})
		default:
			return fmt.Errorf("%s: unsupported tree entry mode %s", full, e.Mode)
		}
	}
}

func (sn *snapshotter) size(repo *git.Repository, h plumbing.Hash) (int64, error) {
	if n, ok := sn.sizes[h]; ok {
		sn.next[h] = n
		return n, nil
	}
	// The filesystem storage reads a size from the object's header; a
	// lookup would inflate the whole blob.
	var n int64
	var err error
	if sz, ok := repo.Storer.(interface {
		EncodedObjectSize(plumbing.Hash) (int64, error)
	}); ok {
		n, err = sz.EncodedObjectSize(h)
	} else {
		var o plumbing.EncodedObject
		if o, err = repo.Storer.EncodedObject(plumbing.BlobObject, h); err == nil {
			n = o.Size()
		}
	}
	if err != nil {
		return 0, localErr(fmt.Errorf("blob %s: %w", h, err))
	}
	sn.next[h] = n
	return n, nil
}

func readBlob(repo *git.Repository, h plumbing.Hash) ([]byte, error) {
	o, err := repo.Storer.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, localErr(fmt.Errorf("blob %s: %w", h, err))
	}
	r, err := o.Reader()
	if err != nil {
		return nil, localErr(err)
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, maxGitmodules))
}

func readModules(tree *object.Tree) (*gitconfig.Modules, error) {
	f, err := tree.File(".gitmodules")
	if err != nil {
		return nil, fmt.Errorf("a submodule without .gitmodules: %w", err)
	}
	if f.Size > maxGitmodules {
		return nil, fmt.Errorf("over %d bytes", maxGitmodules)
	}
	s, err := f.Contents()
	if err != nil {
		return nil, localErr(err)
	}
	m := gitconfig.NewModules()
	if err := m.Unmarshal([]byte(s)); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	return m, nil
}

// submodule fetches the submodule at path (relative to its superproject)
// at commit into its own repository under .git/podkit-modules and adds its
// tree below prefix.
func (sn *snapshotter) submodule(ctx context.Context, modules *gitconfig.Modules, superURL, subPath string, commit plumbing.Hash, prefix string, level int, out *publish.Snapshot) error {
	var mod *gitconfig.Submodule
	for _, m := range modules.Submodules {
		if m.Path == subPath {
			mod = m
			break
		}
	}
	if mod == nil || mod.URL == "" {
		return fmt.Errorf("submodule %s: no url in .gitmodules", strings.TrimSuffix(prefix, "/"))
	}
	u, err := submoduleURL(superURL, mod.URL)
	if err != nil {
		return fmt.Errorf("submodule %s: %w", strings.TrimSuffix(prefix, "/"), err)
	}
	sum := sha256.Sum256([]byte(u))
	dir := filepath.Join(sn.s.gitDir, "podkit-modules", hex.EncodeToString(sum[:8]))
	repo, err := openOrInit(dir)
	if err != nil {
		return localErr(fmt.Errorf("submodule %s: %w", strings.TrimSuffix(prefix, "/"), err))
	}
	sn.subs = append(sn.subs, repo)
	if _, err := repo.CommitObject(commit); err != nil {
		rem, err := newRemote(&sn.s.cfg, u)
		if err != nil {
			return err
		}
		rem.install()
		if _, err := rem.fetch(ctx, repo, target{hash: commit}, sn.s.cfg.Depth); err != nil {
			return fmt.Errorf("submodule %s: %w", strings.TrimSuffix(prefix, "/"), err)
		}
		if err := repo.Storer.SetReference(plumbing.NewHashReference(syncedRef, commit)); err != nil {
			return localErr(err)
		}
	}
	return sn.tree(ctx, repo, u, commit, prefix, level+1, out)
}

// submoduleURL resolves a .gitmodules url: "./x" and "../x" are relative
// to the superproject's URL, as git resolves them.
func submoduleURL(super, rel string) (string, error) {
	if !strings.HasPrefix(rel, "./") && !strings.HasPrefix(rel, "../") {
		return rel, nil
	}
	u, err := url.Parse(super)
	if err == nil && u.Scheme != "" {
		u.Path = path.Join(u.Path, rel)
		return u.String(), nil
	}
	if host, p, ok := strings.Cut(super, ":"); ok && !strings.Contains(host, "/") {
		return host + ":" + path.Join(p, rel), nil // scp-style
	}
	if strings.HasPrefix(super, "/") {
		return path.Join(super, rel), nil
	}
	return "", fmt.Errorf("relative url %q of a superproject without a URL form", rel)
}
