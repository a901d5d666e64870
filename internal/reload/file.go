// Package reload re-reads configuration files on SIGHUP and when they
// change, for every daemon that has one: the change is noticed by content
// (size, mtime, inode, then a hash), since Kubernetes updates a mounted
// ConfigMap by swapping a symlink, which inotify on the file itself misses.
package reload

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// DefaultInterval is how often files are checked for changes.
const DefaultInterval = 2 * time.Second

// File is a configuration file whose content is remembered when read, so
// that Changed notices a new one.
type File struct {
	Path string
	Max  int64 // largest accepted size in bytes; 0: 1 MiB

	mu  sync.Mutex // Read may run beside Changed (a reload asked for by hand)
	sum [sha256.Size]byte
	fi  os.FileInfo
}

func (f *File) max() int64 {
	if f.Max <= 0 {
		return 1 << 20
	}
	return f.Max
}

// Read returns the file's content, at most Max bytes, and remembers it.
// Its errors do not repeat the path: the caller names the file.
func (f *File) Read() ([]byte, error) {
	fi, data, err := f.read()
	if err != nil {
		// The caller names the file (in its own error type): not twice.
		if pe, ok := errors.AsType[*os.PathError](err); ok {
			err = pe.Err
		}
		return nil, err
	}
	f.mu.Lock()
	f.sum, f.fi = sha256.Sum256(data), fi
	f.mu.Unlock()
	return data, nil
}

func (f *File) read() (os.FileInfo, []byte, error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(fh, f.max()+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(data)) > f.max() {
		return nil, nil, fmt.Errorf("larger than %d bytes", f.max())
	}
	return fi, data, nil
}

// Changed reports whether the content differs from what Read last
// returned. A file that cannot be read counts as unchanged (it may be
// being replaced; the next check sees it), except one grown past Max,
// whose rejection Read will then report (once: a later check compares
// with the oversized file).
func (f *File) Changed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.Path)
	if err != nil {
		return false
	}
	if f.fi != nil && fi.ModTime().Equal(f.fi.ModTime()) && fi.Size() == f.fi.Size() && os.SameFile(fi, f.fi) {
		return false
	}
	if fi.Size() > f.max() {
		// Reported once: Read will reject it, and the next check must not
		// report (and a reload log and count) it again until it changes.
		f.fi = fi
		return true
	}
	fi, data, err := f.read()
	if err != nil {
		return false
	}
	sum := sha256.Sum256(data)
	if bytes.Equal(sum[:], f.sum[:]) {
		f.fi = fi
		return false
	}
	return true
}
