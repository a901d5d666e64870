package sink

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"time"
)

// recoverAll completes every .tmp file of this prefix that no live writer
// holds: what a crash left.
func (s *File) recoverAll() {
	names, err := s.dir.Readdirnames(-1)
	if err == nil {
		_, err = s.dir.Seek(0, io.SeekStart) // dir is kept for fsync; reset for a later read
	}
	if err != nil {
		s.log.Error("listing for crash recovery", "err", err)
		return
	}
	for _, name := range names {
		if !s.ownTmp(name) {
			continue
		}
		switch done, err := s.recoverFile(name); {
		case err != nil:
			s.log.Error("recovering file left by a crash; it stays as .tmp", "file", name, "err", err)
		case done:
			s.log.Info("recovered file left by a crash", "file", name)
		}
	}
}

// ownTmp reports whether name is PREFIX-TIME.ndjson[.gz].tmp.
func (s *File) ownTmp(name string) bool {
	rest, ok := strings.CutPrefix(name, s.cfg.Prefix+"-")
	if !ok {
		return false
	}
	rest, ok = strings.CutSuffix(rest, tmpExt)
	if !ok {
		return false
	}
	if r, ok := strings.CutSuffix(rest, ".ndjson.gz"); ok {
		rest = r
	} else if rest, ok = strings.CutSuffix(rest, ".ndjson"); !ok {
		return false
	}
	_, err := time.Parse(nameTime, rest)
	return err == nil
}

// recoverFile cuts tmp back to its complete part and completes (or, if
// empty, removes) it, unless a live writer holds its lock: then it reports
// false.
func (s *File) recoverFile(tmp string) (bool, error) {
	f, err := s.root.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if !tryLock(f) || !s.sameFile(tmp, f) {
		return false, nil // a live writer's, or completed meanwhile by another process
	}
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	var good int64
	if strings.HasSuffix(tmp, ".gz"+tmpExt) {
		good = gzipPrefix(f, fi.Size())
	} else {
		good, err = ndjsonPrefix(f, fi.Size())
		if err != nil {
			return false, err
		}
	}
	if good < fi.Size() {
		s.log.Warn("cutting a torn batch off a file left by a crash", "file", tmp, "from", fi.Size(), "to", good)
		if err := f.Truncate(good); err != nil {
			return false, err
		}
		if err := f.Sync(); err != nil {
			return false, err
		}
	}
	if good == 0 {
		if err := s.root.Remove(tmp); err != nil {
			return false, err
		}
		return true, s.dir.Sync()
	}
	return true, s.complete(f, tmp, strings.TrimSuffix(tmp, tmpExt))
}

// byteCounter counts what gzip consumed: gzip reads a flate.Reader (one
// with ReadByte) without read-ahead, so the count after a member is its end.
type byteCounter struct {
	r *bufio.Reader
	n int64
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *byteCounter) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// gzipPrefix is the length of the complete gzip members (CRC and size
// checked) at the start of f.
func gzipPrefix(f *os.File, size int64) int64 {
	c := &byteCounter{r: bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 64<<10)}
	var zr gzip.Reader
	var good int64
	for {
		if err := zr.Reset(c); err != nil {
			return good
		}
		zr.Multistream(false)
		if _, err := io.Copy(io.Discard, &zr); err != nil {
			return good
		}
		good = c.n
	}
}

// ndjsonPrefix is the length of f up to its last line that ends in '\n'
// and is valid JSON. Checking JSON too drops a tail the filesystem
// extended but never filled (zeros) before the crash.
func ndjsonPrefix(f *os.File, size int64) (int64, error) {
	end, err := lastNewline(f, size)
	for err == nil && end > 0 {
		start, lerr := lastNewline(f, end-1)
		if lerr != nil {
			return 0, lerr
		}
		line := make([]byte, end-1-start)
		if _, err := f.ReadAt(line, start); err != nil {
			return 0, err
		}
		if json.Valid(line) {
			return end, nil
		}
		end = start
	}
	return 0, err
}

// lastNewline is the offset just after the last '\n' in f[:end], or 0.
func lastNewline(f *os.File, end int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end > 0 {
		n := min(int64(len(buf)), end)
		if _, err := f.ReadAt(buf[:n], end-n); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := n - 1; i >= 0; i-- {
			if buf[i] == '\n' {
				return end - n + i + 1, nil
			}
		}
		end -= n
	}
	return 0, nil
}
