package tail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/checkpoint"
)

type devino struct{ dev, ino uint64 }

// file is one open source file (one inode), shared by every cursor.
type file struct {
	serial    uint64 // identity of this generation; new after a truncation
	order     uint64 // read priority among draining files: lower is older
	f         *os.File
	id        devino
	firstPath string // Record.File
	path      string // where it was seen last
	prefix    []byte // its first min(size, FingerprintBytes) bytes
	size      int64  // the largest size seen
	present   bool   // some glob still matches a path to it
	draining  bool   // rotated: renamed, deleted, or a copy; read before live files
	placed    bool   // cursors have a start in it (see Tailer.place)
	seenAt    time.Time
	goneAt    time.Time
	changedAt time.Time
	busy      int    // cursors reading it outside the lock
	pos       []cpos // per cursor
}

// cpos is one cursor's position in one file.
type cpos struct {
	read    int64 // next byte to read
	scanned int64 // bytes up to here were seen: a partial line waits for more
	acked   int64
	st      splitState
	counts
}

type counts struct {
	Lines, Bytes, Split, Truncated uint64
}

func (c *counts) add(o counts) {
	c.Lines += o.Lines
	c.Bytes += o.Bytes
	c.Split += o.Split
	c.Truncated += o.Truncated
}

// ghost keeps the positions of a file generation that is gone (truncated
// in place, or, at start-up, a checkpoint entry) until a file with its
// fingerprint appears and takes them over.
type ghost struct {
	serial uint64
	order  uint64
	fp     [16]byte
	fpLen  int
	path   string
	id     devino
	pos    []cpos
	has    []bool // per cursor: pos is valid
	// truncated: from a file truncated at run time (its copy is read
	// before the original's new content); else from a checkpoint.
	truncated bool
}

func fingerprint(prefix []byte) [16]byte {
	sum := sha256.Sum256(prefix)
	return [16]byte(sum[:16])
}

func entry(fp [16]byte, fpLen int, path string, off int64, id devino) checkpoint.Entry {
	return checkpoint.Entry{Fingerprint: hex.EncodeToString(fp[:]), FingerprintLen: fpLen,
		Path: path, Offset: off, Dev: id.dev, Ino: id.ino}
}

func stat(fi os.FileInfo) (devino, uint64) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return devino{}, 1
	}
	return devino{uint64(st.Dev), st.Ino}, uint64(st.Nlink)
}

// readPrefix reads the first n bytes of f (fewer at EOF).
func readPrefix(f *os.File, n int64) ([]byte, error) {
	buf := make([]byte, n)
	m, err := f.ReadAt(buf, 0)
	if err == io.EOF {
		err = nil
	}
	return buf[:m], err
}

// matchGhost returns the ghost whose fingerprint matches prefix for
// cursor c, preferring one with the same inode.
func matchGhost(ghosts []*ghost, prefix []byte, id devino, c int) *ghost {
	var best *ghost
	for _, g := range ghosts {
		if !g.has[c] || g.fpLen > len(prefix) || fingerprint(prefix[:g.fpLen]) != g.fp {
			continue
		}
		if g.id == id {
			return g
		}
		if best == nil || g.fpLen > best.fpLen {
			best = g
		}
	}
	return best
}

// copyOf reports whether prefix could be a copy of live file l: the bytes
// both have are equal.
func copyOf(prefix []byte, l *file) bool {
	m := min(len(prefix), len(l.prefix))
	return m > 0 && bytes.Equal(prefix[:m], l.prefix[:m])
}
