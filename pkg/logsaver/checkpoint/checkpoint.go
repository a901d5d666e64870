// Package checkpoint is logsaver's durable record of how far each sink got
// in each source file (issue 6): a map, per sink name, of file fingerprint
// to offset. logsaver moves a sink's entries only after that sink
// acknowledged the data, so a restart after kill -9 loses nothing and
// repeats at most the batches that were in flight.
//
// The file is written the way litestream and etcd's snapshot writers do: a
// temp file in the same directory, fsync, rename over the old one, fsync of
// the directory. A header line carries the body's length and CRC-32C, so a
// torn or bit-flipped file is rejected with an error (and kept aside as
// .bad for the operator) instead of silently restarting from zero or from
// garbage offsets.
package checkpoint

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// FileName is the checkpoint file's name inside the state directory.
const FileName = "checkpoints.json"

// DefaultMaxBytes is the size limit when Config.MaxBytes is 0.
const DefaultMaxBytes = 8 << 20

// Limits on one entry, checked by Load and Save.
const (
	MaxSinkName    = 256
	MaxPath        = 4096
	MaxFingerprint = 1 << 20 // largest FingerprintLen accepted
)

// ErrCorrupt is wrapped by Load's error when the file exists but cannot be
// trusted (torn, bit-flipped, too large, or not a checkpoint file).
var ErrCorrupt = errors.New("corrupt checkpoint")

// ErrTooLarge is wrapped by Save's error when the state would exceed the
// size limit; nothing is written then.
var ErrTooLarge = errors.New("checkpoint too large")

// Entry is how far one sink got in one file.
type Entry struct {
	// Fingerprint is the hex SHA-256 (first 16 bytes) of the file's first
	// FingerprintLen bytes: the file's identity across renames and
	// restarts, unlike the inode, which the filesystem reuses.
	Fingerprint    string `json:"fp"`
	FingerprintLen int    `json:"fp_len"`
	Path           string `json:"path"` // where the file was last seen (informational)
	Offset         int64  `json:"offset"`
	Dev            uint64 `json:"dev,omitempty"` // a hint that breaks fingerprint ties
	Ino            uint64 `json:"ino,omitempty"`
}

// Config configures a Store.
type Config struct {
	Dir      string // the state directory; required; only files inside it are written
	MaxBytes int    // size limit of the file; 0: DefaultMaxBytes
}

// Store loads and saves the checkpoint file of one state directory. It is
// safe for concurrent use; Save calls are serialised.
type Store struct {
	dir      string
	maxBytes int
	mu       chan struct{} // a lock that a test can see is free
}

// New checks cfg; it does no I/O.
func New(cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("checkpoint: Dir: required")
	}
	if cfg.MaxBytes < 0 {
		return nil, fmt.Errorf("checkpoint: MaxBytes: must be >= 0 (got %d)", cfg.MaxBytes)
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	return &Store{dir: filepath.Clean(cfg.Dir), maxBytes: cfg.MaxBytes, mu: make(chan struct{}, 1)}, nil
}

// Path is the checkpoint file's path.
func (s *Store) Path() string { return filepath.Join(s.dir, FileName) }

const magic = "podkit-checkpoint 1 "

type body struct {
	Sinks map[string][]Entry `json:"sinks"`
}

// Load reads the checkpoint file: sink name -> entries. A missing file is
// an empty state, not an error. A corrupt one is renamed to FileName+".bad"
// (replacing an older .bad) and reported with an error wrapping ErrCorrupt;
// the caller decides whether to start over (the next Save writes a fresh
// file) or to stop for an operator.
func (s *Store) Load() (map[string][]Entry, error) {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	s.removeTemps()
	f, err := os.Open(s.Path())
	if errors.Is(err, os.ErrNotExist) {
		return map[string][]Entry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(s.maxBytes)+1))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: read %s: %w", s.Path(), err)
	}
	state, perr := Parse(data, s.maxBytes)
	if perr == nil {
		return state, nil
	}
	bad := s.Path() + ".bad"
	if err := os.Rename(s.Path(), bad); err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w (and keeping it aside failed: %v)", s.Path(), perr, err)
	}
	syncDir(s.dir)
	return nil, fmt.Errorf("checkpoint: %s: %w; moved to %s", s.Path(), perr, bad)
}

// Parse decodes a checkpoint file's bytes; every error wraps ErrCorrupt.
// maxBytes <= 0 means DefaultMaxBytes.
func Parse(data []byte, maxBytes int) (map[string][]Entry, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if len(data) > maxBytes {
		return nil, fmt.Errorf("%w: over the %d-byte limit", ErrCorrupt, maxBytes)
	}
	header, rest, ok := bytes.Cut(data, []byte("\n"))
	if !ok || !bytes.HasPrefix(header, []byte(magic)) {
		return nil, fmt.Errorf("%w: no %q header", ErrCorrupt, strings.TrimSpace(magic))
	}
	fields := strings.Fields(string(header[len(magic):]))
	if len(fields) != 2 {
		return nil, fmt.Errorf("%w: bad header", ErrCorrupt)
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n != len(rest) {
		return nil, fmt.Errorf("%w: length %q in header, %d bytes follow (torn write?)", ErrCorrupt, fields[0], len(rest))
	}
	sum, err := strconv.ParseUint(fields[1], 16, 32)
	if err != nil || len(fields[1]) != 8 {
		return nil, fmt.Errorf("%w: bad checksum field %q", ErrCorrupt, fields[1])
	}
	if got := crc32.Checksum(rest, castagnoli); got != uint32(sum) {
		return nil, fmt.Errorf("%w: checksum %08x, header says %08x", ErrCorrupt, got, sum)
	}
	var b body
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the JSON body", ErrCorrupt)
	}
	if b.Sinks == nil {
		b.Sinks = map[string][]Entry{}
	}
	if err := validate(b.Sinks); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return b.Sinks, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func validate(sinks map[string][]Entry) error {
	for name, es := range sinks {
		if name == "" || len(name) > MaxSinkName {
			return fmt.Errorf("sink name %.40q: must be 1..%d bytes", name, MaxSinkName)
		}
		for _, e := range es {
			if len(e.Fingerprint) != 32 {
				return fmt.Errorf("sink %q: fingerprint %.40q: want 32 hex digits", name, e.Fingerprint)
			}
			if _, err := hex.DecodeString(e.Fingerprint); err != nil {
				return fmt.Errorf("sink %q: fingerprint %q: %v", name, e.Fingerprint, err)
			}
			if e.FingerprintLen <= 0 || e.FingerprintLen > MaxFingerprint {
				return fmt.Errorf("sink %q: fp_len %d: want 1..%d", name, e.FingerprintLen, MaxFingerprint)
			}
			if e.Offset < 0 {
				return fmt.Errorf("sink %q: offset %d < 0", name, e.Offset)
			}
			if len(e.Path) > MaxPath {
				return fmt.Errorf("sink %q: path over %d bytes", name, MaxPath)
			}
		}
	}
	return nil
}

// Encode returns the file's bytes for sinks (entries sorted, so equal
// states give equal files).
func Encode(sinks map[string][]Entry) ([]byte, error) {
	if err := validate(sinks); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	sorted := make(map[string][]Entry, len(sinks))
	for name, es := range sinks {
		es = append([]Entry(nil), es...)
		sort.Slice(es, func(i, j int) bool {
			if es[i].Fingerprint != es[j].Fingerprint {
				return es[i].Fingerprint < es[j].Fingerprint
			}
			return es[i].FingerprintLen < es[j].FingerprintLen
		})
		if es == nil {
			es = []Entry{}
		}
		sorted[name] = es
	}
	js, err := json.Marshal(body{Sinks: sorted})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	js = append(js, '\n')
	out := fmt.Appendf(nil, "%s%d %08x\n", magic, len(js), crc32.Checksum(js, castagnoli))
	return append(out, js...), nil
}

// Save replaces the checkpoint file with sinks, atomically and durably:
// once it returns nil, a crash at any later moment leaves either this
// state or a later one. On error the old file is untouched.
func (s *Store) Save(sinks map[string][]Entry) error {
	data, err := Encode(sinks)
	if err != nil {
		return err
	}
	if len(data) > s.maxBytes {
		return fmt.Errorf("checkpoint: %d bytes: %w (limit %d)", len(data), ErrTooLarge, s.maxBytes)
	}
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	tmp, err := os.CreateTemp(s.dir, tempPattern)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("checkpoint: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("checkpoint: fsync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("checkpoint: close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), s.Path()); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	done = true
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("checkpoint: fsync %s: %w", s.dir, err)
	}
	return nil
}

const tempPattern = "." + FileName + ".*.tmp"

// removeTemps deletes temp files a crash left behind (only ours: the
// pattern is ours and the directory is the one we were given).
func (s *Store) removeTemps() {
	names, _ := filepath.Glob(filepath.Join(s.dir, tempPattern))
	for _, n := range names {
		os.Remove(n)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
