package tail

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultPollInterval     = time.Second
	DefaultMaxLineBytes     = 256 << 10
	DefaultFingerprintBytes = 1024
	DefaultReadBufferBytes  = 256 << 10
	DefaultRotateWait       = 5 * time.Second
	DefaultMaxGhosts        = 1024
)

// Config configures a Tailer.
type Config struct {
	// Paths are filepath.Match globs (one level per path element, no "**");
	// at least one is required.
	Paths []string
	// Exclude drops matches: a glob with a '/' is matched against the whole
	// path, one without against the base name.
	Exclude []string
	// PollInterval is how often every glob is re-expanded and every open
	// file stat'ed, with or without inotify; 0: 1s.
	PollInterval time.Duration
	// NoInotify turns fsnotify off: polling only (for filesystems where
	// inotify sees nothing, such as some network and overlay mounts).
	// Inotify failing at run time falls back to polling by itself.
	NoInotify bool
	// MaxLineBytes is the longest record; longer lines are split into
	// pieces of this size, or truncated when TruncateLongLines. Both are
	// counted. 0: 256 KiB.
	MaxLineBytes      int
	TruncateLongLines bool
	// FingerprintBytes is how much of a file's start identifies it; files
	// whose first FingerprintBytes are equal are taken for copies of each
	// other (see the package comment). 0: 1024.
	FingerprintBytes int
	// ReadBufferBytes is the most one Read returns (it is raised to
	// MaxLineBytes+1); 0: 256 KiB.
	ReadBufferBytes int
	// RotateWait is how long a file that was rotated away (renamed out of
	// the globs, or deleted) is kept at EOF for late writes, and how long a
	// suspected copy waits for its original to be truncated. After it a
	// trailing line without '\n' is flushed as a record, and the file is
	// closed once every cursor has acknowledged its end. 0: 5s.
	RotateWait time.Duration
	// StartAtEnd starts files found at the first scan that have no
	// checkpoint at their end instead of their beginning. Files that
	// appear later always start at the beginning.
	StartAtEnd bool
	// MaxGhosts bounds the remembered positions of truncated files (kept
	// so that their copy continues where the original stopped); 0: 1024.
	MaxGhosts int
	Logger    *slog.Logger // nil: slog.Default()
}

func (c *Config) setDefaults() error {
	if len(c.Paths) == 0 {
		return errors.New("tail: Paths: at least one glob is required")
	}
	for _, p := range append(append([]string(nil), c.Paths...), c.Exclude...) {
		if _, err := filepath.Match(p, ""); err != nil {
			return fmt.Errorf("tail: glob %q: %w", p, err)
		}
	}
	for name, v := range map[string]int64{
		"PollInterval": int64(c.PollInterval), "MaxLineBytes": int64(c.MaxLineBytes),
		"FingerprintBytes": int64(c.FingerprintBytes), "ReadBufferBytes": int64(c.ReadBufferBytes),
		"RotateWait": int64(c.RotateWait), "MaxGhosts": int64(c.MaxGhosts),
	} {
		if v < 0 {
			return fmt.Errorf("tail: %s: must be >= 0 (got %d)", name, v)
		}
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MaxLineBytes == 0 {
		c.MaxLineBytes = DefaultMaxLineBytes
	}
	if c.FingerprintBytes == 0 {
		c.FingerprintBytes = DefaultFingerprintBytes
	}
	if c.ReadBufferBytes == 0 {
		c.ReadBufferBytes = DefaultReadBufferBytes
	}
	c.ReadBufferBytes = max(c.ReadBufferBytes, c.MaxLineBytes+1)
	if c.RotateWait == 0 {
		c.RotateWait = DefaultRotateWait
	}
	if c.MaxGhosts == 0 {
		c.MaxGhosts = DefaultMaxGhosts
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}
