package sink

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/record"
)

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("sink closed")

// FileConfig configures a file sink; zero optional fields take the
// documented defaults (the same as Parse's).
type FileConfig struct {
	Dir       string        // required, absolute; created (0755) on the first Send
	Prefix    string        // file name prefix; "": "logsaver"; [A-Za-z0-9._-], not starting with '.'
	MaxBytes  int64         // rotate before a file would pass this size as written; 0: 100 MiB
	MaxAge    time.Duration // rotate a file this long after its first batch; 0: 1h
	Gzip      bool          // one gzip member per batch; files end in .ndjson.gz
	GzipLevel int           // 0: gzip.BestSpeed (1)
}

const (
	defaultMaxBytes = 100 << 20
	defaultMaxAge   = time.Hour
	// nameTime is the time in file names: UTC, fixed width, so names sort
	// by time.
	nameTime = "20060102T150405.000000000Z"
	tmpExt   = ".tmp"
	// nameTries bounds the search for a free name when other writers use
	// the same directory and prefix.
	nameTries = 1000
)

// File is the file:///DIR sink. It appends each batch's NDJSON to
// DIR/PREFIX-TIME.ndjson[.gz].tmp, fsyncs it (and DIR when the file is
// new) before Send returns nil, and on rotation (size, age, Close) links
// the file to its final name without ".tmp" and removes the .tmp name.
// So a reader that ignores *.tmp sees only complete files, each readable
// whole by cat or zcat, in time order when sorted by name; a final name
// is never overwritten (link fails if it exists) and a .tmp is created
// with O_EXCL. All file operations go through an os.Root, so nothing is
// written outside DIR even if DIR holds symlinks.
//
// Gzip: each batch is one complete gzip member, so zcat reads a file as
// the concatenation of its batches, and a crash can tear only the member
// being written.
//
// Crash recovery: a .tmp file left by a crash (found with PREFIX at the
// first Send) holds every acknowledged batch and maybe part of the one
// being written. It is cut back to its last complete gzip member, or for
// plain NDJSON to its last line that is complete valid JSON, then given its
// final name. A .tmp locked (flock) by a live writer is left alone.
type File struct {
	cfg  FileConfig
	name string
	log  *slog.Logger
	c    counters

	mu      sync.Mutex // Send, Close and the max-age timer
	root    *os.Root
	dir     *os.File // DIR, for fsync of new names
	cur     *os.File // the open .tmp, nil between files
	curName string   // cur's final name
	curSize int64
	curBorn time.Time
	timer   *time.Timer
	gen     uint64    // counts files, so a stale timer does nothing
	last    time.Time // time of the last name, so names strictly increase
	closed  bool

	zbuf bytes.Buffer
	zw   *gzip.Writer
}

var (
	_ record.Sink = (*File)(nil)
	_ StatsSource = (*File)(nil)
)

// NewFile validates cfg and returns the sink; it does no I/O.
func NewFile(cfg FileConfig, opts Options) (*File, error) {
	if cfg.Dir == "" || !filepath.IsAbs(cfg.Dir) {
		return nil, fmt.Errorf("dir: must be an absolute path (got %q)", cfg.Dir)
	}
	cfg.Dir = filepath.Clean(cfg.Dir)
	if cfg.Prefix == "" {
		cfg.Prefix = "logsaver"
	}
	if !validPrefix(cfg.Prefix) {
		return nil, fmt.Errorf("prefix: want letters, digits, '.', '_' or '-', not starting with '.' (got %q)", cfg.Prefix)
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = defaultMaxBytes
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = defaultMaxAge
	}
	if cfg.GzipLevel == 0 {
		cfg.GzipLevel = gzip.BestSpeed
	}
	switch {
	case cfg.MaxBytes < 0:
		return nil, fmt.Errorf("max-bytes: must be > 0 (got %d)", cfg.MaxBytes)
	case cfg.MaxAge < 0:
		return nil, fmt.Errorf("max-age: must be > 0 (got %s)", cfg.MaxAge)
	case cfg.GzipLevel < gzip.HuffmanOnly || cfg.GzipLevel > gzip.BestCompression:
		return nil, fmt.Errorf("gzip-level: want 1..9 (got %d)", cfg.GzipLevel)
	}
	s := &File{cfg: cfg, name: (&url.URL{Scheme: "file", Path: cfg.Dir}).String()}
	s.log = opts.logger().With("sink", s.name)
	if cfg.Gzip {
		s.zw, _ = gzip.NewWriterLevel(&s.zbuf, cfg.GzipLevel) // level checked above
	}
	return s, nil
}

func validPrefix(p string) bool {
	if p == "" || p[0] == '.' || len(p) > 128 {
		return false
	}
	for _, c := range []byte(p) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func newFileFromURL(u *url.URL, p *Params, opts Options) (record.Sink, error) {
	if u.Opaque != "" || u.Host != "" && u.Host != "localhost" || u.User != nil {
		return nil, errors.New("want file:///ABSOLUTE/DIR")
	}
	cfg := FileConfig{
		Dir:       u.Path,
		Prefix:    p.String("prefix", "logsaver"),
		MaxBytes:  p.Bytes("max-bytes", defaultMaxBytes),
		MaxAge:    p.Duration("max-age", defaultMaxAge),
		Gzip:      p.Bool("gzip", false),
		GzipLevel: p.Int("gzip-level", gzip.BestSpeed, 1, 9),
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	if cfg.MaxBytes == 0 || cfg.MaxAge == 0 {
		return nil, errors.New("max-bytes, max-age: must be > 0")
	}
	s, err := NewFile(cfg, opts)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return s, nil
}

// Name is file:///DIR.
func (s *File) Name() string { return s.name }

// Stats returns the sink's counters.
func (s *File) Stats() Stats { return s.c.snapshot() }

func (s *File) ext() string {
	if s.cfg.Gzip {
		return ".ndjson.gz"
	}
	return ".ndjson"
}

// Send appends b to the current file and fsyncs it.
func (s *File) Send(ctx context.Context, b *record.Batch) error {
	if err := ctx.Err(); err != nil {
		s.c.failed.Add(1)
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.send(b)
	if err != nil {
		s.c.failed.Add(1)
		return fmt.Errorf("sink %s: %w", s.name, err)
	}
	s.c.ack(b.Len(), len(b.NDJSON), n)
	return nil
}

func (s *File) send(b *record.Batch) (int, error) {
	if s.closed {
		return 0, ErrClosed
	}
	if len(b.NDJSON) == 0 {
		return 0, nil
	}
	if s.root == nil {
		if err := s.open(); err != nil {
			return 0, err
		}
	}
	data := b.NDJSON
	if s.zw != nil {
		s.zbuf.Reset()
		s.zw.Reset(&s.zbuf)
		if _, err := s.zw.Write(data); err != nil {
			return 0, fmt.Errorf("gzip: %w", err)
		}
		if err := s.zw.Close(); err != nil {
			return 0, fmt.Errorf("gzip: %w", err)
		}
		data = s.zbuf.Bytes()
	}
	if s.cur != nil && (s.curSize > 0 && s.curSize+int64(len(data)) > s.cfg.MaxBytes || time.Since(s.curBorn) >= s.cfg.MaxAge) {
		s.finish()
	}
	if s.cur == nil {
		if err := s.create(); err != nil {
			return 0, err
		}
	}
	if err := s.write(data); err != nil {
		return 0, err
	}
	return len(data), nil
}

// write appends data to cur and fsyncs it. On failure it cuts the file
// back, so a retried batch never follows a torn one; if that fails too, the
// file is completed as after a crash and the next Send starts a new one.
func (s *File) write(data []byte) error {
	_, err := s.cur.Write(data)
	if err == nil {
		if err = s.cur.Sync(); err == nil {
			s.curSize += int64(len(data))
			return nil
		}
	}
	if terr := s.cur.Truncate(s.curSize); terr != nil || s.cur.Sync() != nil {
		s.log.Error("cannot cut back a failed write; completing the file as after a crash", "file", s.curName, "err", terr)
		tmp := s.curName + tmpExt
		s.drop()
		if _, rerr := s.recoverFile(tmp); rerr != nil {
			s.log.Error("recovering file", "file", tmp, "err", rerr)
		}
	}
	return err
}

// open creates DIR, opens it as the root of every later file operation and
// recovers .tmp files a crash left.
func (s *File) open() error {
	if err := os.MkdirAll(s.cfg.Dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(s.cfg.Dir)
	if err != nil {
		return err
	}
	dir, err := root.Open(".")
	if err != nil {
		root.Close()
		return err
	}
	s.root, s.dir = root, dir
	s.recoverAll()
	return nil
}

// nextTime is now, or just after the last name's time if the clock has not
// moved on (or went back), so this sink's names strictly increase.
func (s *File) nextTime() time.Time {
	t := time.Now().UTC()
	if !t.After(s.last) {
		t = s.last.Add(time.Nanosecond)
	}
	s.last = t
	return t
}

func (s *File) fileName(t time.Time) string {
	return s.cfg.Prefix + "-" + t.Format(nameTime) + s.ext()
}

// create opens a new .tmp with O_EXCL under a name whose final form is
// free, locks it and makes its name durable.
func (s *File) create() error {
	for range nameTries {
		name := s.fileName(s.nextTime())
		if _, err := s.root.Lstat(name); err == nil {
			continue // another writer's complete file
		}
		f, err := s.root.OpenFile(name+tmpExt, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		// Another process's recovery may have taken the file between
		// O_EXCL and the lock: keep it only if locked and still ours.
		if !tryLock(f) || !s.sameFile(name+tmpExt, f) {
			f.Close()
			continue
		}
		if err := s.dir.Sync(); err != nil {
			f.Close()
			_ = s.root.Remove(name + tmpExt)
			return err
		}
		s.gen++
		s.cur, s.curName, s.curSize, s.curBorn = f, name, 0, time.Now()
		gen := s.gen
		s.timer = time.AfterFunc(s.cfg.MaxAge, func() { s.ageRotate(gen) })
		return nil
	}
	return fmt.Errorf("no free file name after %d tries", nameTries)
}

func (s *File) sameFile(name string, f *os.File) bool {
	a, err := s.root.Lstat(name)
	if err != nil {
		return false
	}
	b, err := f.Stat()
	return err == nil && os.SameFile(a, b)
}

func (s *File) ageRotate(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed && s.cur != nil && s.gen == gen {
		s.finish()
	}
}

// drop forgets the current file without completing it.
func (s *File) drop() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if s.cur != nil {
		s.cur.Close()
		s.cur = nil
	}
}

// finish completes the current file. Its data is already fsynced, so a
// failure here loses nothing: the .tmp stays and is recovered later.
func (s *File) finish() {
	if s.cur == nil {
		return
	}
	f, name, size := s.cur, s.curName, s.curSize
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.cur = nil
	defer f.Close() // after the rename: the lock keeps recovery away
	if size == 0 {
		if err := s.root.Remove(name + tmpExt); err != nil {
			s.log.Error("removing empty file", "file", name+tmpExt, "err", err)
		}
		return
	}
	if err := s.complete(f, name+tmpExt, name); err != nil {
		s.log.Error("completing file; it stays as .tmp until the next start", "file", name+tmpExt, "err", err)
	}
}

// complete gives tmp (open as f, locked) its final name: a hard link, which
// fails rather than overwrite, then the .tmp name is removed and DIR
// fsynced. If want is taken by another file, a later time is used.
func (s *File) complete(f *os.File, tmp, want string) error {
	final := want
	for range nameTries {
		err := s.root.Link(tmp, final)
		if errors.Is(err, fs.ErrExist) {
			if s.sameFile(final, f) {
				break // linked before a crash
			}
			final = s.laterName(final)
			continue
		}
		if err != nil {
			// No hard links here (some FUSE and SMB mounts): rename, if
			// the name is still free.
			if _, serr := s.root.Lstat(final); !errors.Is(serr, fs.ErrNotExist) {
				return err
			}
			if err := s.root.Rename(tmp, final); err != nil {
				return err
			}
			s.c.files.Add(1)
			return s.dir.Sync()
		}
		break
	}
	if !s.sameFile(final, f) {
		return fmt.Errorf("no free final name for %s", tmp)
	}
	if err := s.root.Remove(tmp); err != nil {
		return err
	}
	s.c.files.Add(1)
	return s.dir.Sync()
}

// laterName is name with its time moved on by at least 1ns, and past this
// sink's last name.
func (s *File) laterName(name string) string {
	ext := ".ndjson"
	if strings.HasSuffix(name, ".ndjson.gz") {
		ext = ".ndjson.gz"
	}
	t, err := time.Parse(nameTime, strings.TrimSuffix(strings.TrimPrefix(name, s.cfg.Prefix+"-"), ext))
	if err != nil {
		return s.fileName(s.nextTime())
	}
	t = t.Add(time.Nanosecond)
	if t.After(s.last) {
		s.last = t
	}
	return s.cfg.Prefix + "-" + t.Format(nameTime) + ext
}

// Close completes the current file. Send fails after it.
func (s *File) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.finish()
	var errs []error
	if s.dir != nil {
		errs = append(errs, s.dir.Close())
	}
	if s.root != nil {
		errs = append(errs, s.root.Close())
	}
	return errors.Join(errs...)
}
