//go:build linux

package publish

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// premadeDirs: making the next build's directories in advance pays here
// (see spare.go).
const premadeDirs = true

// fill creates snap's directories, links and files below .worktrees/tmp (a
// directory we just made, empty but for the directories o.premade) and, if
// o.sync, fsyncs every written file and every directory. It returns the
// manifest record of each entry, indexed like snap.
//
// Directories are processed by a few goroutines, each holding only the
// directory it works on open: per directory one mkdirat per subdirectory
// and one linkat (plus an fstatat) per unchanged file, where going through
// os.Root cost a path walk per file. Every directory is opened one element
// at a time with O_NOFOLLOW, so neither the new tree nor the current one
// (which readers may be able to write) is ever left through a symlink.
func (p *Publisher) fill(ctx context.Context, tmp string, snap Snapshot, o fillOpts) ([]record, Stats, error) {
	wt := int(p.wtDir.Fd())
	dst, err := openDir(wt, tmp)
	if err != nil {
		return nil, Stats{}, err
	}
	defer unix.Close(dst)
	b := &filler{o: o, snap: snap, recs: make([]record, len(snap)), dst: dst, src: -1}
	root, nodes := planDirs(snap)
	if err := removeExtra(dst, o.premade, nodes); err != nil {
		return nil, Stats{}, err
	}
	if o.from != "" {
		// No tree to link from (gone since) only means nothing is linked.
		if fd, err := openDir(wt, o.from); err == nil {
			b.src = fd
			defer unix.Close(fd)
		}
	}
	q := &dirQueue{items: []*dirNode{root}}
	q.cond.L = &q.mu
	workers := p.workers
	if workers <= 0 {
		// Directory work is mostly kernel time; with fsync on, a few
		// more goroutines than CPUs keep the disk busy while others wait.
		workers = min(max(2*runtime.GOMAXPROCS(0), 2), 8)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for n := q.next(); n != nil; n = q.next() {
				q.done(b.dir(ctx, n, q))
			}
		})
	}
	wg.Wait()
	runtime.KeepAlive(p.wtDir)
	if q.err != nil {
		return nil, Stats{}, q.err
	}
	return b.recs, b.st, nil
}

// dirNode is one directory of the tree being built.
type dirNode struct {
	path     string // relative to the tree, "" for the tree itself
	children []*dirNode
	files    []int // indexes in the snapshot of its non-directory entries
}

// planDirs arranges snap's entries by directory, creating the implicit
// parents. nodes holds every directory by path.
func planDirs(snap Snapshot) (root *dirNode, nodes map[string]*dirNode) {
	root = &dirNode{}
	nodes = map[string]*dirNode{"": root}
	var get func(d string) *dirNode
	get = func(d string) *dirNode {
		if n, ok := nodes[d]; ok {
			return n
		}
		parent := get(parentDir(d))
		n := &dirNode{path: d}
		nodes[d] = n
		parent.children = append(parent.children, n)
		return n
	}
	for i := range snap {
		if snap[i].Mode == Dir {
			get(snap[i].Path)
		} else {
			n := get(parentDir(snap[i].Path))
			n.files = append(n.files, i)
		}
	}
	return root, nodes
}

// removeExtra removes the premade directories (all empty) that the plan
// does not have, children first.
func removeExtra(dst int, premade map[string]bool, nodes map[string]*dirNode) error {
	var extra []string
	for d := range premade {
		if nodes[d] == nil {
			extra = append(extra, d)
		}
	}
	slices.Sort(extra)
	for _, d := range slices.Backward(extra) {
		pfd, err := openDir(dst, parentDir(d))
		if err != nil {
			return err
		}
		err = unix.Unlinkat(pfd, baseName(d), unix.AT_REMOVEDIR)
		unix.Close(pfd)
		if err != nil {
			return fmt.Errorf("%s: remove premade directory: %w", d, err)
		}
	}
	return nil
}

// dirQueue hands directories to the workers; a directory's children are
// queued once it has created them. The first error stops everything.
type dirQueue struct {
	mu    sync.Mutex
	cond  sync.Cond
	items []*dirNode
	busy  int // directories being worked on, which may queue more
	err   error
}

// next returns a directory to work on, or nil when all are done or one
// failed.
func (q *dirQueue) next() *dirNode {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && q.busy > 0 && q.err == nil {
		q.cond.Wait()
	}
	if q.err != nil || len(q.items) == 0 {
		return nil
	}
	n := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	q.busy++
	return n
}

func (q *dirQueue) push(ns []*dirNode) {
	if len(ns) == 0 {
		return
	}
	q.mu.Lock()
	q.items = append(q.items, ns...)
	q.mu.Unlock()
	q.cond.Broadcast()
}

func (q *dirQueue) done(err error) {
	q.mu.Lock()
	q.busy--
	if err != nil && q.err == nil {
		q.err = err
	}
	q.mu.Unlock()
	q.cond.Broadcast()
}

type filler struct {
	o    fillOpts
	snap Snapshot
	recs []record // written by the worker that owns the entry's directory
	dst  int      // the tree being built
	src  int      // the current tree, -1 if there is none to link from

	mu     sync.Mutex // guards st; openMu serialises Entry.Open and the copy
	openMu sync.Mutex
	st     Stats
}

// dir fills one directory: its subdirectories (then queued), its entries,
// and an fsync of the directory itself once every entry is in it.
func (b *filler) dir(ctx context.Context, n *dirNode, q *dirQueue) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dfd, err := openDir(b.dst, n.path)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	for _, c := range n.children {
		if err := unix.Mkdirat(dfd, baseName(c.path), 0o755); err != nil && !(err == unix.EEXIST && b.o.premade[c.path]) {
			return fmt.Errorf("%s: mkdir: %w", c.path, err)
		}
	}
	q.push(n.children)
	sfd := -1
	if b.src >= 0 && len(n.files) > 0 {
		if fd, err := openDir(b.src, n.path); err == nil {
			sfd = fd
			defer unix.Close(sfd)
		}
	}
	var st Stats
	for k, i := range n.files {
		if k%256 == 255 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		e := &b.snap[i]
		name := baseName(e.Path)
		if e.Mode == Symlink {
			if err := unix.Symlinkat(e.Target, dfd, name); err != nil {
				return fmt.Errorf("%s: symlink: %w", e.Path, err)
			}
			b.recs[i] = record{Mode: Symlink, Hash: e.Hash}
			continue
		}
		if sfd >= 0 && b.link(sfd, dfd, name, i) {
			st.FilesLinked++
			continue
		}
		r, err := b.write(dfd, name, e)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		b.recs[i] = r
		st.FilesWritten++
		st.BytesWritten += r.Size
	}
	if b.o.sync {
		if err := fsync(dfd); err != nil {
			return fmt.Errorf("%s: sync directory: %w", n.path, err)
		}
	}
	b.mu.Lock()
	b.st.FilesLinked += st.FilesLinked
	b.st.FilesWritten += st.FilesWritten
	b.st.BytesWritten += st.BytesWritten
	b.mu.Unlock()
	return nil
}

// link hard-links snap[i] from the current tree if its manifest record
// matches the entry, and keeps the link only if the inode it got still looks
// as recorded: same kind, exec bit, size and mtime (git's index uses the
// same cheap test), so a file a reader modified in place is not propagated.
// Checking the linked inode, not the source name, leaves no window in which
// the name could be swapped between check and link.
func (b *filler) link(sfd, dfd int, name string, i int) bool {
	e := &b.snap[i]
	r, ok := b.o.fromMan[e.Path]
	if !ok || r.Mode != e.Mode || r.Hash != e.Hash || r.Size != e.Size {
		return false
	}
	if unix.Linkat(sfd, name, dfd, name, 0) != nil { // 0: a symlink is linked, not followed
		return false
	}
	var st unix.Stat_t
	if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil &&
		st.Mode&unix.S_IFMT == unix.S_IFREG && (st.Mode&0o100 != 0) == (r.Mode == Executable) &&
		st.Size == r.Size && st.Mtim.Nano() == r.Mtime {
		b.recs[i] = r
		return true
	}
	unix.Unlinkat(dfd, name, 0) // if this fails, the write's O_EXCL reports it
	return false
}

// write creates name in dfd as a new inode (O_EXCL in a directory we made,
// never through a symlink) with e's content.
func (b *filler) write(dfd int, name string, e *Entry) (record, error) {
	perm := uint32(0o644)
	if e.Mode == Executable {
		perm = 0o755
	}
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		return err
	})
	if err != nil {
		return record{}, fmt.Errorf("create: %w", err)
	}
	f := os.NewFile(uintptr(fd), e.Path)
	defer f.Close()
	n, err := b.copy(f, e)
	if err != nil {
		return record{}, err
	}
	if n != e.Size {
		return record{}, fmt.Errorf("content is %d bytes, entry says %d", n, e.Size)
	}
	if b.o.sync {
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

// copy writes e's content to f. Calls are serialised: Entry.Open reads the
// caller's object store, which need not be safe for concurrent use.
func (b *filler) copy(f *os.File, e *Entry) (int64, error) {
	b.openMu.Lock()
	defer b.openMu.Unlock()
	rc, err := e.Open()
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// openDir opens the directory rel (slash-separated, "" for dirfd itself)
// below dirfd one element at a time, refusing symlinks.
func openDir(dirfd int, rel string) (int, error) {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, owned := dirfd, false
	if rel == "" {
		rel = "."
	}
	for elem := range strings.SplitSeq(rel, "/") {
		var next int
		err := ignoringEINTR(func() (err error) {
			next, err = unix.Openat(fd, elem, flags, 0)
			return err
		})
		if owned {
			unix.Close(fd)
		}
		if err != nil {
			return -1, fmt.Errorf("open %s: %w", rel, err)
		}
		fd, owned = next, true
	}
	return fd, nil
}

func fsync(fd int) error {
	return ignoringEINTR(func() error { return unix.Fsync(fd) })
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
