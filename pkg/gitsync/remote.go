package gitsync

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"golang.org/x/crypto/ssh"
)

// Local refs. fetchedRef is where a fetch lands; syncedRef stays at the
// published commit, so the next shallow fetch can tell the server what
// we have instead of downloading the whole tree again.
const (
	fetchedRef = plumbing.ReferenceName("refs/podkit/fetched")
	syncedRef  = plumbing.ReferenceName("refs/podkit/synced")
)

// remote is the connection settings for one repository URL.
type remote struct {
	url      string
	auth     transport.AuthMethod
	caBundle []byte
	insecure bool
	// noShallow: file:// without a git-upload-pack to run; go-git's
	// in-process server cannot serve shallow fetches.
	noShallow bool
}

func newRemote(cfg *Config, url string) (*remote, error) {
	r := &remote{url: url, insecure: cfg.InsecureSkipTLS}
	if cfg.CAFile != "" {
		b, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, optErr("git-config", "http.sslCAInfo: %v", err)
		}
		r.caBundle = b
	}
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, optErr("repo", "%s", scrub(err.Error(), url, cfg.Password))
	}
	switch ep.Protocol {
	case "http", "https":
		if cfg.Username != "" || cfg.Password != "" {
			r.auth = &githttp.BasicAuth{Username: cfg.Username, Password: cfg.Password}
		}
	case "ssh":
		if cfg.SSHKeyFile != "" {
			user := ep.User
			if user == "" {
				user = "git"
			}
			keys, err := gitssh.NewPublicKeysFromFile(user, cfg.SSHKeyFile, "")
			if err != nil {
				return nil, optErr("ssh-key-file", "%v", err)
			}
			if cfg.SSHKnownHosts {
				cb, err := gitssh.NewKnownHostsCallback(cfg.SSHKnownHostsFile)
				if err != nil {
					return nil, optErr("ssh-known-hosts-file", "%v", err)
				}
				keys.HostKeyCallback = cb
			} else {
				keys.HostKeyCallback = ssh.InsecureIgnoreHostKey() //nolint:gosec // the user turned host checks off (--ssh-known-hosts=false)
			}
			r.auth = keys
		}
	case "file":
		if _, err := exec.LookPath("git-upload-pack"); err != nil {
			if _, err := exec.LookPath("git"); err != nil {
				r.noShallow = true
			}
		}
	}
	return r, nil
}

// builtinFile serves file:// from go-git's own upload-pack when no git is
// installed (a scratch image): the product must not need the git CLI.
var builtinFile = server.NewClient(server.DefaultLoader)

func (r *remote) install() {
	if r.noShallow {
		client.InstallProtocol("file", builtinFile)
	}
}

// target is what a poll found: the ref to fetch and the object it names
// on the remote (a commit, or an annotated tag).
type target struct {
	ref  plumbing.ReferenceName // "" for a commit given by hash
	hash plumbing.Hash
}

// resolve asks the remote for its refs (git ls-remote: one round trip, no
// objects) and finds ref among them.
func (r *remote) resolve(ctx context.Context, repo *git.Repository, ref string) (target, error) {
	if shaRE.MatchString(ref) {
		return target{hash: plumbing.NewHash(ref)}, nil
	}
	rem := git.NewRemote(repo.Storer, &gitconfig.RemoteConfig{Name: "origin", URLs: []string{r.url}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: r.auth, CABundle: r.caBundle, InsecureSkipTLS: r.insecure})
	if err != nil {
		return target{}, fmt.Errorf("list remote refs: %w", err)
	}
	byName := make(map[plumbing.ReferenceName]*plumbing.Reference, len(refs))
	for _, x := range refs {
		byName[x.Name()] = x
	}
	var names []plumbing.ReferenceName
	switch {
	case ref == "" || ref == "HEAD":
		names = []plumbing.ReferenceName{plumbing.HEAD}
	case strings.HasPrefix(ref, "refs/"):
		names = []plumbing.ReferenceName{plumbing.ReferenceName(ref)}
	default:
		names = []plumbing.ReferenceName{plumbing.NewBranchReferenceName(ref), plumbing.NewTagReferenceName(ref)}
	}
	for _, n := range names {
		x := byName[n]
		// HEAD arrives as a symbolic ref when the server says what it
		// points at; fetch the branch, so that a later HEAD move shows.
		for i := 0; x != nil && x.Type() == plumbing.SymbolicReference && i < 5; i++ {
			n = x.Target()
			x = byName[n]
		}
		if x != nil && x.Type() == plumbing.HashReference {
			return target{ref: n, hash: x.Hash()}, nil
		}
	}
	if ref == "" {
		ref = "HEAD"
	}
	return target{}, fmt.Errorf("%q: %w", ref, errNoRef)
}

// fetch brings t's commit into repo at fetchedRef, depth commits deep (0:
// all), and returns the commit's hash.
//
// Once repo holds a synced commit, the fetch is not shallow: go-git speaks
// protocol v0, and there upload-pack answers a "deepen" request with the
// whole tree even when the client's "have" (the synced commit) is acked,
// which measured 33 MB per one-file push on a 50 MB repo. Without deepen
// the server sends only what is not reachable from that commit. The cost:
// a push of a history unrelated to the synced commit brings that history,
// which housekeeping (--git-gc) later drops.
func (r *remote) fetch(ctx context.Context, repo *git.Repository, t target, depth int) (plumbing.Hash, error) {
	if r.noShallow {
		depth = 0
	}
	if ref, err := repo.Reference(syncedRef, false); err == nil {
		if _, err := repo.CommitObject(ref.Hash()); err == nil {
			depth = 0
		}
	}
	src := t.ref.String()
	if t.ref == "" {
		src = t.hash.String()
	}
	spec := gitconfig.RefSpec("+" + src + ":" + fetchedRef.String())
	rem := git.NewRemote(repo.Storer, &gitconfig.RemoteConfig{Name: "origin", URLs: []string{r.url}})
	err := rem.FetchContext(ctx, &git.FetchOptions{
		RefSpecs: []gitconfig.RefSpec{spec}, Depth: depth, Auth: r.auth, Tags: git.NoTags, Force: true,
		CABundle: r.caBundle, InsecureSkipTLS: r.insecure,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		if t.ref != "" {
			return plumbing.ZeroHash, fmt.Errorf("fetch %s: %w", src, err)
		}
		// Servers speaking protocol v0/v1 refuse a commit that no ref
		// names unless configured to (uploadpack.allowReachableSHA1InWant):
		// then fetch the branches and tags, in full, and look for it.
		if _, ferr := r.fetchAll(ctx, repo); ferr != nil {
			return plumbing.ZeroHash, fmt.Errorf("fetch %s: %w (and fetching every branch: %w)", src, err, ferr)
		}
		if _, cerr := repo.CommitObject(t.hash); cerr != nil {
			return plumbing.ZeroHash, fmt.Errorf("fetch %s: %w; no branch or tag of the remote has it", src, err)
		}
		if err := repo.Storer.SetReference(plumbing.NewHashReference(fetchedRef, t.hash)); err != nil {
			return plumbing.ZeroHash, localErr(err)
		}
	}
	got, err := repo.Reference(fetchedRef, false)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("fetch %s: %w", src, err)
	}
	h := got.Hash()
	// An annotated tag names a tag object; what is published is its commit.
	for range 10 {
		tag, err := repo.TagObject(h)
		if err != nil {
			break
		}
		h = tag.Target
	}
	if _, err := repo.CommitObject(h); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("fetch %s: commit %s: %w", src, h, err)
	}
	return h, nil
}

// fetchAll fetches every branch, all history: the fallback for a commit
// the server will not send by hash.
func (r *remote) fetchAll(ctx context.Context, repo *git.Repository) (bool, error) {
	rem := git.NewRemote(repo.Storer, &gitconfig.RemoteConfig{Name: "origin", URLs: []string{r.url}})
	err := rem.FetchContext(ctx, &git.FetchOptions{
		RefSpecs: []gitconfig.RefSpec{"+refs/heads/*:refs/podkit/heads/*", "+refs/tags/*:refs/podkit/tags/*"}, Auth: r.auth, Tags: git.NoTags, Force: true,
		CABundle: r.caBundle, InsecureSkipTLS: r.insecure,
	})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		return false, nil
	}
	return err == nil, err
}

// Storage settings for go-git. Objects above lazyObject bytes are read
// from the pack when used, not when looked up: the snapshot looks every
// blob up for its size, and only changed files are read. The object cache
// is small because every object is read once per sync: go-git's default
// (96 MiB) would keep the tree's blobs as an idle sidecar's heap.
const (
	lazyObject  = 4 << 10
	objectCache = 1 * cache.MiByte
)

// openOrInit opens the bare repository at dir, creating it if missing.
// Pack files stay open (closeRepo closes them): go-git otherwise opens the
// pack again for every object.
func openOrInit(dir string) (*git.Repository, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	st := filesystem.NewStorageWithOptions(osfs.New(dir, osfs.WithBoundOS()), cache.NewObjectLRU(objectCache),
		filesystem.Options{ExclusiveAccess: true, KeepDescriptors: true, LargeObjectThreshold: lazyObject})
	repo, err := git.Open(st, nil)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return git.Init(st, nil)
	}
	if err != nil {
		st.Close()
	}
	return repo, err
}

// remoteErr reports whether err came from the network or the server
// (unreachable, refused, an HTTP error status, a timeout), not from the
// local repository.
func remoteErr(err error) bool {
	var ne net.Error
	var he *githttp.Err
	var ue *plumbing.UnexpectedError
	if errors.As(err, &ue) && errors.As(ue.Err, &he) {
		return true
	}
	return errors.As(err, &ne) || errors.As(err, &he) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, transport.ErrRepositoryNotFound) || errors.Is(err, transport.ErrAuthenticationRequired) ||
		errors.Is(err, transport.ErrAuthorizationFailed) || errors.Is(err, transport.ErrEmptyRemoteRepository)
}

// errLocal marks an error of the local repository (a missing or unreadable
// object, a broken pack): the cure is a fresh clone, not a retry.
var errLocal = errors.New("local repository")

func localErr(err error) error {
	if err == nil || errors.Is(err, errLocal) {
		return err
	}
	return fmt.Errorf("%w: %w", errLocal, err)
}
