package logtest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Rotation is how a Writer rotates its file.
type Rotation string

// The rotation kinds logsaver must follow without loss.
const (
	// RotateNone never rotates.
	RotateNone Rotation = "none"
	// RotateRename renames the file to NAME.1 (NAME.1 to NAME.2, ...) and
	// creates a new NAME: log libraries and logrotate's default.
	RotateRename Rotation = "rename"
	// RotateCopyTruncate copies the file to NAME.1 and truncates NAME in
	// place (logrotate's copytruncate). Lines written between the copy
	// and the truncate are lost to any reader: the Writer does not write
	// then, as a careful application cannot either.
	RotateCopyTruncate Rotation = "copytruncate"
	// RotateDelete renames the file to NAME.1, creates a new NAME, and
	// deletes NAME.1 at the next rotation (a reader must hold it open).
	RotateDelete Rotation = "delete"
)

// WriterConfig configures a Writer.
type WriterConfig struct {
	Path     string
	Source   string        // src= in every line; "": the file's base name
	LineSize int           // bytes per line with its '\n'; 0: 100
	Rate     float64       // lines per second; 0: as fast as possible
	Lines    int64         // lines to write in all
	Rotate   Rotation      // "": RotateNone
	Every    time.Duration // rotate this often; 0: never
	// EveryLines rotates after this many lines instead of by time (0:
	// by time only), so that a test rotates at known points.
	EveryLines int64
	Keep       int   // rotated files kept (NAME.1..NAME.Keep); 0: 3
	First      int64 // the first sequence number; 0: 1
}

// Writer appends numbered lines to a file, rotating it.
type Writer struct {
	cfg     WriterConfig
	Written int64 // lines written so far; read it after Run returns
	Rotated int   // rotations done
}

// NewWriter checks cfg.
func NewWriter(cfg WriterConfig) (*Writer, error) {
	if cfg.LineSize == 0 {
		cfg.LineSize = 100
	}
	if cfg.Source == "" {
		cfg.Source = filepath.Base(cfg.Path)
	}
	if cfg.Rotate == "" {
		cfg.Rotate = RotateNone
	}
	if cfg.Keep == 0 {
		cfg.Keep = 3
	}
	if cfg.First == 0 {
		cfg.First = 1
	}
	if min := len(Line(nil, cfg.Source, 0, 0)); cfg.LineSize < min {
		return nil, fmt.Errorf("logtest: line size %d is under the %d bytes a line needs", cfg.LineSize, min)
	}
	switch cfg.Rotate {
	case RotateNone, RotateRename, RotateCopyTruncate, RotateDelete:
	default:
		return nil, fmt.Errorf("logtest: unknown rotation %q", cfg.Rotate)
	}
	return &Writer{cfg: cfg}, nil
}

// Line appends line seq of src, padded to size bytes with its '\n' (at
// least as long as it needs).
func Line(dst []byte, src string, seq int64, size int) []byte {
	start := len(dst)
	dst = append(dst, "seq="...)
	n := len(dst)
	dst = strconv.AppendInt(dst, seq, 10)
	if w := len(dst) - n; w < 12 {
		// Zero-pad to 12 digits, so that lines sort by number.
		pad := 12 - w
		dst = append(dst, make([]byte, pad)...)
		copy(dst[n+pad:], dst[n:n+w])
		for i := range pad {
			dst[n+i] = '0'
		}
	}
	dst = append(dst, " src="...)
	dst = append(dst, src...)
	dst = append(dst, ' ')
	for len(dst)-start < size-1 {
		dst = append(dst, 'x')
	}
	return append(dst, '\n')
}

// Run writes cfg.Lines lines, then closes the file. It returns early, with
// ctx's error, when ctx ends.
func (w *Writer) Run(ctx context.Context) error {
	f, err := os.OpenFile(w.cfg.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	defer func() { bw.Flush(); f.Close() }()
	start := time.Now()
	nextRotate := start.Add(w.cfg.Every)
	var line []byte
	for i := int64(0); i < w.cfg.Lines; i++ {
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if w.cfg.Rate > 0 {
			due := start.Add(time.Duration(float64(i) / w.cfg.Rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				// Flush before sleeping: a reader sees lines at the
				// rate they are written.
				if err := bw.Flush(); err != nil {
					return err
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(d):
				}
			}
		}
		due := w.cfg.Every > 0 && !time.Now().Before(nextRotate) || w.cfg.EveryLines > 0 && i > 0 && i%w.cfg.EveryLines == 0
		if due && w.cfg.Rotate != RotateNone {
			if err := bw.Flush(); err != nil {
				return err
			}
			if f, err = w.rotate(f); err != nil {
				return err
			}
			bw.Reset(f)
			nextRotate = time.Now().Add(w.cfg.Every)
		}
		line = Line(line[:0], w.cfg.Source, w.cfg.First+i, w.cfg.LineSize)
		if _, err := bw.Write(line); err != nil {
			return err
		}
		w.Written++
	}
	return bw.Flush()
}

// rotate rotates the open file f and returns the file to write next.
func (w *Writer) rotate(f *os.File) (*os.File, error) {
	p := w.cfg.Path
	w.Rotated++
	switch w.cfg.Rotate {
	case RotateCopyTruncate:
		if err := shift(p, w.cfg.Keep); err != nil {
			return nil, err
		}
		if err := copyFile(p, p+".1"); err != nil {
			return nil, err
		}
		return f, f.Truncate(0) // O_APPEND: the next write goes to offset 0
	case RotateDelete:
		os.Remove(p + ".1")
		if err := os.Rename(p, p+".1"); err != nil {
			return nil, err
		}
	default: // RotateRename
		if err := shift(p, w.cfg.Keep); err != nil {
			return nil, err
		}
		if err := os.Rename(p, p+".1"); err != nil {
			return nil, err
		}
	}
	f.Close()
	return os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
}

// shift renames NAME.k to NAME.k+1, dropping NAME.keep.
func shift(p string, keep int) error {
	os.Remove(fmt.Sprintf("%s.%d", p, keep))
	for k := keep - 1; k >= 1; k-- {
		if err := os.Rename(fmt.Sprintf("%s.%d", p, k), fmt.Sprintf("%s.%d", p, k+1)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o644)
}
