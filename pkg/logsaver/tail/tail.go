// Package tail is the file-following core of podkit logsaver, the paper's
// first sidecar example (Burns & Oppenheimer 2016, section 4.1): it reads
// every file matching a set of globs, line by line, through rotation,
// without losing a line. It replaces the tail input of fluent-bit, promtail
// and filebeat.
//
// # Identity
//
// A file is its inode while it is open (the Tailer keeps every file open
// until every cursor has read and acknowledged its end, so the inode cannot
// be reused under it), and its fingerprint across restarts: a hash of its
// first FingerprintBytes bytes, with their count, as in Vector's checksum
// fingerprinting. A checkpoint entry names a fingerprint, not an inode, so a
// new file that got an old file's inode starts at 0. The price: files whose
// first FingerprintBytes are identical (a fixed banner) are taken for
// copies of each other; raise FingerprintBytes if yours do.
//
// # Rotation
//
//   - rename+create: the renamed inode stays open and is read to its end,
//     whatever its new name; the new file is found by inotify or the next
//     poll and read from 0. Rotated files are read before live ones, so
//     lines of one source come out in order.
//   - delete (after rename or not): the open fd keeps the data; it is read
//     to EOF, and closed RotateWait after the last write once acknowledged.
//   - copytruncate: a size under our offset, or changed first bytes, mean
//     the file was truncated: it is read again from 0. A scan checks both;
//     a Read checks the first bytes again after each read, since a fast
//     writer can truncate and refill the file past our offset between two
//     scans, which no size check sees: a read followed by unchanged first
//     bytes read the same generation (logs only grow), else it is void and
//     counts as the truncation. The one generation change no check sees is
//     to new content with the same first bytes (see Identity). If the copy
//     matches a glob too (path "app.log*"), the copy — recognised by having the
//     original's first bytes — takes over the original's positions, so
//     whatever had not been read before the truncate is read from the copy:
//     nothing is lost even when the reader lags; acks still on their way
//     for the original's old generation go on to the copy. Lines written
//     between the copy and the truncate are in neither file: that race is
//     logrotate's and no reader can close it (use rename rotation where you
//     can). If the copy is not globbed, the unread rest of the original is
//     lost too.
//
// # Cursors, acknowledgement and backpressure
//
// One Tailer discovers and holds the files; each consumer (one per sink)
// has a Cursor with its own read and acknowledged offset in every file.
// Cursor.Read is a pull: it reads from disk only when called, into the
// caller's Chunk, so memory is what the caller holds and a caller that
// stops calling stops reading (the disk is the buffer). Cursors are
// independent: a slow sink never holds back a fast one, and a file rotated
// away stays open until the slowest cursor has acknowledged its end
// (Stats shows such files). Cursor.Ack moves the acknowledged offset,
// Cursor.Checkpoint reports acknowledged offsets for the checkpoint store,
// and Cursor.Rewind goes back to them after a failed delivery, so a caller
// need not keep unacknowledged records in memory. Each cursor reads and
// splits the file itself; the page cache makes the second read cheap.
// A caller that wants one read shared by several sinks uses one cursor and
// keeps per-sink progress itself.
package tail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/podkit/podkit/pkg/logsaver/checkpoint"
)

// ErrStopped is returned by Cursor.Read once the Tailer's Run has returned.
var ErrStopped = errors.New("tail: stopped")

// Tailer finds and holds the files; Cursors read them.
type Tailer struct {
	cfg Config
	log *slog.Logger

	mu         sync.Mutex
	idle       *sync.Cond    // signalled when a file's busy count drops
	wake       chan struct{} // closed (and replaced) when there may be new data
	files      map[devino]*file
	ghosts     []*ghost
	moved      map[uint64][]uint64 // see forward
	movedOrder []uint64            // moved's keys, oldest first
	failed     map[string]bool     // paths that could not be opened (logged once)
	cursors    []*Cursor
	nextSerial uint64
	running    bool
	stopped    bool
	scanned    bool // the first scan is done
	inotify    bool
	scans      uint64
	watched    map[string]bool
}

// New checks cfg and applies defaults; it does no I/O.
func New(cfg Config) (*Tailer, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	t := &Tailer{
		cfg:     cfg,
		log:     cfg.Logger,
		wake:    make(chan struct{}),
		files:   map[devino]*file{},
		moved:   map[uint64][]uint64{},
		failed:  map[string]bool{},
		watched: map[string]bool{},
	}
	t.idle = sync.NewCond(&t.mu)
	return t, nil
}

// Cursor adds a consumer named name (a sink's name), starting from start:
// the entries its last Checkpoint returned (nil: no checkpoint). Cursors
// are added before Run.
func (t *Tailer) Cursor(name string, start []checkpoint.Entry) (*Cursor, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.running || t.stopped {
		return nil, errors.New("tail: Cursor: called after Run")
	}
	for _, c := range t.cursors {
		if c.name == name {
			return nil, fmt.Errorf("tail: Cursor: name %q used twice", name)
		}
	}
	c := &Cursor{t: t, name: name, idx: len(t.cursors), buf: make([]byte, t.cfg.ReadBufferBytes),
		pbuf: make([]byte, t.cfg.FingerprintBytes)}
	t.cursors = append(t.cursors, c)
	for _, g := range t.ghosts {
		g.pos = append(g.pos, cpos{})
		g.has = append(g.has, false)
	}
	for _, e := range start {
		fp, err := parseFP(e.Fingerprint)
		if err != nil || e.FingerprintLen <= 0 || e.Offset < 0 {
			return nil, fmt.Errorf("tail: Cursor %q: bad checkpoint entry %+v", name, e)
		}
		g := &ghost{fp: fp, fpLen: e.FingerprintLen, path: e.Path, id: devino{e.Dev, e.Ino},
			pos: make([]cpos, len(t.cursors)), has: make([]bool, len(t.cursors))}
		g.pos[c.idx] = cpos{read: e.Offset, scanned: e.Offset, acked: e.Offset}
		g.has[c.idx] = true
		t.nextSerial++
		g.serial, g.order = t.nextSerial, t.nextSerial
		t.ghosts = append(t.ghosts, g)
	}
	return c, nil
}

// Run finds and watches the files until ctx ends, then closes them and
// returns nil. Cursor.Read returns ErrStopped from then on.
func (t *Tailer) Run(ctx context.Context) error {
	t.mu.Lock()
	if t.running || t.stopped {
		t.mu.Unlock()
		return errors.New("tail: Run called twice")
	}
	t.running = true
	t.mu.Unlock()

	var events chan fsnotify.Event
	var errs chan error
	var w *fsnotify.Watcher
	if !t.cfg.NoInotify {
		var err error
		if w, err = fsnotify.NewWatcher(); err != nil {
			t.log.Warn("tail: inotify unavailable, polling", "err", err, "interval", t.cfg.PollInterval)
		} else {
			events, errs = w.Events, w.Errors
			t.mu.Lock()
			t.inotify = true
			t.mu.Unlock()
		}
	}
	defer t.stop(w)

	t.scan(w, true, "")
	tick := time.NewTicker(t.cfg.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			t.scan(w, true, "")
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			// Typically a queue overflow: events were lost, so rescan.
			t.log.Warn("tail: inotify error, rescanning", "err", err)
			t.scan(w, true, "")
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			// Take what else is queued, so a busy writer costs one
			// refresh per batch of events, not one per write.
			full, paths := !ev.Has(fsnotify.Write), map[string]bool{ev.Name: true}
		drain:
			for range 256 {
				select {
				case ev, ok := <-events:
					if !ok {
						events = nil
						break drain
					}
					full = full || !ev.Has(fsnotify.Write)
					paths[ev.Name] = true
				default:
					break drain
				}
			}
			if full {
				t.scan(w, true, "")
				continue
			}
			for p := range paths {
				t.scan(w, false, p)
			}
		}
	}
}

func (t *Tailer) stop(w *fsnotify.Watcher) {
	if w != nil {
		w.Close()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	t.broadcast()
	for {
		busy := false
		for _, f := range t.files {
			busy = busy || f.busy > 0
		}
		if !busy {
			break
		}
		t.idle.Wait()
	}
	for id, f := range t.files {
		f.f.Close()
		delete(t.files, id)
	}
}

// broadcast wakes every waiting Read; t.mu is held.
func (t *Tailer) broadcast() {
	close(t.wake)
	t.wake = make(chan struct{})
}

// scan refreshes the open files and, when full, expands the globs, adopts
// new files, watches new directories and closes finished files. With full
// false it refreshes only the file at path (a write event), or does a full
// scan if no open file is there.
func (t *Tailer) scan(w *fsnotify.Watcher, full bool, path string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	defer t.broadcast()
	now := time.Now()
	if !full {
		for _, f := range t.files {
			if f.path == path && f.present {
				t.refresh(f, now)
				return
			}
		}
	}
	t.scans++
	for _, f := range t.files {
		t.refresh(f, now)
	}
	seen := map[devino]bool{}
	var fresh []string
	for _, p := range t.match() {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		id, _ := stat(fi)
		if f := t.files[id]; f != nil {
			if !seen[id] && f.path != p {
				// Renamed within the globs: it was rotated.
				f.path, f.draining = p, true
			}
			seen[id] = true
			continue
		}
		fresh = append(fresh, p)
	}
	for id, f := range t.files {
		if seen[id] {
			f.present, f.goneAt = true, time.Time{}
			continue
		}
		if f.present {
			f.present, f.draining, f.goneAt = false, true, now
		}
	}
	for _, p := range fresh {
		t.adopt(p, now)
	}
	for id, f := range t.files {
		if t.finished(f, now) {
			f.f.Close()
			delete(t.files, id)
			t.log.Debug("tail: closed rotated file", "path", f.path, "size", f.size)
		}
	}
	if w != nil {
		t.watchDirs(w)
	}
	t.scanned = true
}

// match expands the globs, minus the excluded paths.
func (t *Tailer) match() []string {
	var out []string
	for _, g := range t.cfg.Paths {
		ms, _ := filepath.Glob(g)
	next:
		for _, m := range ms {
			for _, x := range t.cfg.Exclude {
				target := m
				if !strings.ContainsRune(x, filepath.Separator) {
					target = filepath.Base(m)
				}
				if ok, _ := filepath.Match(x, target); ok {
					continue next
				}
			}
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (t *Tailer) watchDirs(w *fsnotify.Watcher) {
	for _, g := range t.cfg.Paths {
		dirs, _ := filepath.Glob(filepath.Dir(g))
		for _, d := range dirs {
			if t.watched[d] {
				continue
			}
			if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
				continue
			}
			if err := w.Add(d); err != nil {
				// ENOSPC (max_user_watches) or a filesystem without
				// inotify: the poll still finds everything.
				t.log.Warn("tail: cannot watch directory, polling it", "dir", d, "err", err)
			}
			t.watched[d] = true
		}
	}
}

// refresh stats f and detects growth, deletion and truncation.
func (t *Tailer) refresh(f *file, now time.Time) {
	fi, err := f.f.Stat()
	if err != nil {
		return
	}
	_, nlink := stat(fi)
	if nlink == 0 && f.present {
		f.present, f.draining, f.goneAt = false, true, now
	}
	size := fi.Size()
	shrunk := size < f.size // logs only grow: any shrinking is a truncation
	if size > f.size {
		f.size, f.changedAt = size, now
	}
	n := min(size, int64(t.cfg.FingerprintBytes))
	// The first bytes are read again each time: a file rewritten in
	// place, or truncated and regrown past our offset, shows there.
	cur, err := readPrefix(f.f, n)
	if err != nil {
		return
	}
	if !f.placed {
		f.prefix = cur
		if shrunk {
			f.size = size
		}
		t.place(f, now)
		return
	}
	switch {
	case shrunk || len(cur) < len(f.prefix) || string(cur[:len(f.prefix)]) != string(f.prefix):
		// The size may be the old generation's (stat came first): only
		// len(cur) bytes are sure to be the new one's. Too small a size
		// costs nothing (reads and the next scan raise it); too large
		// would look like a second truncation.
		t.truncated(f, cur, min(size, int64(len(cur))), now)
	case len(cur) > len(f.prefix):
		f.prefix = cur
	}
}

// truncated starts f over from 0 (copytruncate, or rewritten in place);
// its old positions become a ghost that a copy of it can take over.
func (t *Tailer) truncated(f *file, prefix []byte, size int64, now time.Time) {
	t.log.Info("tail: file truncated, reading it from the start", "path", f.path, "old_size", f.size, "size", size)
	if len(f.prefix) > 0 {
		g := &ghost{serial: f.serial, order: f.order, fp: fingerprint(f.prefix), fpLen: len(f.prefix),
			path: f.path, id: f.id, pos: f.pos, has: make([]bool, len(f.pos)), truncated: true}
		for i := range g.has {
			g.has[i] = true
		}
		t.addGhost(g)
	}
	t.nextSerial++
	f.serial, f.order = t.nextSerial, t.nextSerial
	f.prefix, f.size, f.changedAt, f.draining = prefix, size, now, false
	f.pos = make([]cpos, len(t.cursors))
}

func (t *Tailer) addGhost(g *ghost) {
	t.ghosts = append(t.ghosts, g)
	if over := len(t.ghosts) - t.cfg.MaxGhosts; over > 0 {
		t.ghosts = slices.Delete(t.ghosts, 0, over)
	}
}

// adopt opens the new file at p at once (so that a file renamed or
// deleted moments after it appeared is still read) and places it.
func (t *Tailer) adopt(p string, now time.Time) {
	fh, err := os.Open(p)
	if err != nil {
		if !t.failed[p] {
			t.failed[p] = true
			t.log.Warn("tail: cannot open", "path", p, "err", err)
		}
		return
	}
	delete(t.failed, p)
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return
	}
	id, _ := stat(fi)
	if t.files[id] != nil {
		fh.Close() // renamed between the glob and the open: known
		return
	}
	prefix, err := readPrefix(fh, min(fi.Size(), int64(t.cfg.FingerprintBytes)))
	if err != nil {
		fh.Close()
		return
	}
	t.nextSerial++
	f := &file{serial: t.nextSerial, order: t.nextSerial, f: fh, id: id, firstPath: p, path: p,
		prefix: prefix, size: fi.Size(), present: true, changedAt: now, seenAt: now,
		pos: make([]cpos, len(t.cursors))}
	t.files[id] = f
	t.place(f, now)
	t.log.Debug("tail: following", "path", p, "size", fi.Size())
}

// place sets every cursor's start in f, once f has a first byte to
// fingerprint: from a ghost with its fingerprint (a checkpoint, or the
// original of a copy), else 0 (or the end, with StartAtEnd, at the first
// scan). A file that looks like a copy of another open file waits up to
// RotateWait for that one to be truncated, so that it can take over the
// truncated file's positions.
func (t *Tailer) place(f *file, now time.Time) {
	if f.placed || len(f.prefix) == 0 {
		return
	}
	for _, l := range t.files {
		if l != f && l.placed && copyOf(f.prefix, l) && now.Sub(f.seenAt) < t.cfg.RotateWait {
			return
		}
	}
	f.placed = true
	for i := range t.cursors {
		g := matchGhost(t.ghosts, f.prefix, f.id, i)
		switch {
		case g != nil:
			off, kept := g.pos[i], true
			if off.read > f.size {
				// Shorter than the ghost's offset: maybe still being
				// copied; sizes are known exactly after a stat.
				if fi, err := f.f.Stat(); err == nil {
					f.size = max(f.size, fi.Size())
				}
				if off.read > f.size {
					off, kept = cpos{}, false // rewritten since
				}
			}
			f.pos[i] = off
			g.has[i] = false
			if g.truncated {
				// A copy of a truncated file: older than the original's
				// new content, so it is read first.
				f.order, f.draining = g.order, true
				if kept {
					t.forward(g.serial, i, f.serial)
				}
			}
			if !slices.Contains(g.has, true) {
				t.ghosts = slices.DeleteFunc(t.ghosts, func(x *ghost) bool { return x == g })
			}
		case t.cfg.StartAtEnd && !t.scanned:
			if fi, err := f.f.Stat(); err == nil {
				f.size = max(f.size, fi.Size())
			}
			f.pos[i] = cpos{read: f.size, scanned: f.size, acked: f.size}
		}
	}
}

// forward records that cursor i's positions in generation from are now
// in generation to (a copy took them over), so that acks still on their
// way for lines read before the truncate reach the copy: without them the
// copy would never be acknowledged to its end, so never closed. Bounded
// like the ghosts.
func (t *Tailer) forward(from uint64, i int, to uint64) {
	m := t.moved[from]
	if m == nil {
		m = make([]uint64, len(t.cursors))
		t.moved[from] = m
		t.movedOrder = append(t.movedOrder, from)
		if over := len(t.movedOrder) - t.cfg.MaxGhosts; over > 0 {
			for _, s := range t.movedOrder[:over] {
				delete(t.moved, s)
			}
			t.movedOrder = slices.Delete(t.movedOrder, 0, over)
		}
	}
	m[i] = to
}

// finished reports whether f can be closed: rotated away, quiet for
// RotateWait, and read and acknowledged to its end by every cursor.
func (t *Tailer) finished(f *file, now time.Time) bool {
	if f.present || f.busy > 0 || now.Sub(f.goneAt) < t.cfg.RotateWait || now.Sub(f.changedAt) < t.cfg.RotateWait {
		return false
	}
	if !f.placed {
		return f.size == 0 // gone without a byte written
	}
	for _, p := range f.pos {
		if p.read < f.size || p.acked < f.size {
			return false
		}
	}
	return true
}
