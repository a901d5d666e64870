package protocol

import (
	"errors"
	"fmt"
)

// Defaults for [Limits]; a zero field takes its default.
const (
	// DefaultMaxItemSize is memcached's default item size limit (-I 1m), in
	// bytes of value.
	DefaultMaxItemSize = 1 << 20
	// DefaultMaxLine bounds every command line but a retrieval's, terminator
	// included. memcached closes a connection that sends 2048 bytes without a
	// newline unless the line starts with "get " or "gets ".
	DefaultMaxLine = 2048
	// DefaultMaxGetLine bounds a get, gets, gat or gats line.
	DefaultMaxGetLine = 64 << 10
	// DefaultMaxKeys bounds the keys of one retrieval command.
	DefaultMaxKeys = 8192
)

// MaxKeyLength is memcached's KEY_MAX_LENGTH, in bytes; a meta key given in
// base64 (flag b) is measured before decoding, as memcached does.
const MaxKeyLength = 250

// BackendMaxLine is the longest gat or gats line, terminator included, that
// memcached reads whole whatever the packet boundaries: it closes a connection
// whose buffered bytes reach 2048 with no newline unless they start with
// "get " or "gets " (verified against memcached 1.6.18). [FitKeys] splits a
// long gat into lines this long.
const BackendMaxLine = 2048

// Limits bounds what a reader buffers for one request or response.
type Limits struct {
	MaxItemSize int  // longest data block (value) in bytes; 0: DefaultMaxItemSize
	MaxLine     int  // longest command line but a retrieval's, with its terminator; 0: DefaultMaxLine
	MaxGetLine  int  // longest get/gets/gat/gats line, with its terminator; 0: DefaultMaxGetLine
	MaxKeys     int  // most keys in one retrieval command; 0: DefaultMaxKeys
	StrictKeys  bool // reject keys holding control characters (protocol.txt); memcached and twemproxy accept them
}

// ErrBadLimits is wrapped by [Limits.Validate] errors.
var ErrBadLimits = errors.New("memcache protocol: bad limits")

// Validate reports a negative field, or a line bound too short for a
// 250-byte key; it names the field.
func (l Limits) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"MaxItemSize", l.MaxItemSize}, {"MaxLine", l.MaxLine}, {"MaxGetLine", l.MaxGetLine}, {"MaxKeys", l.MaxKeys}} {
		if f.v < 0 {
			return fmt.Errorf("%w: %s must be >= 0 (got %d)", ErrBadLimits, f.name, f.v)
		}
	}
	l = l.withDefaults()
	if l.MaxLine < minLine {
		return fmt.Errorf("%w: MaxLine must be >= %d (got %d)", ErrBadLimits, minLine, l.MaxLine)
	}
	if l.MaxGetLine < l.MaxLine {
		return fmt.Errorf("%w: MaxGetLine (%d) must be >= MaxLine (%d)", ErrBadLimits, l.MaxGetLine, l.MaxLine)
	}
	return nil
}

// minLine fits any valid storage or meta line with a 250-byte key.
const minLine = 512

func (l Limits) withDefaults() Limits {
	if l.MaxItemSize <= 0 {
		l.MaxItemSize = DefaultMaxItemSize
	}
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultMaxLine
	}
	if l.MaxGetLine <= 0 {
		l.MaxGetLine = DefaultMaxGetLine
	}
	if l.MaxKeys <= 0 {
		l.MaxKeys = DefaultMaxKeys
	}
	return l
}

// WithDefaults returns l with its zero fields set to their defaults.
func (l Limits) WithDefaults() Limits { return l.withDefaults() }
