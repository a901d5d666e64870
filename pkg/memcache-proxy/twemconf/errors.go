package twemconf

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors for conditions callers test with errors.Is. Every error
// from this package is an *Error; these are wrapped in its Err.
var (
	// ErrUnsupported: a key twemproxy knows that podkit does not implement
	// (redis: true, redis_auth, a non-zero redis_db).
	ErrUnsupported = errors.New("not supported by podkit memcache-proxy")
	// ErrUnknownKey: a key twemproxy does not know either.
	ErrUnknownKey = errors.New("unknown key")
	// ErrTooLarge: the file is over MaxFileSize.
	ErrTooLarge = errors.New("file too large")
	// ErrNoSuchPool: Select was given a pool name the file does not have.
	ErrNoSuchPool = errors.New("no pool")
)

// Error says what is wrong with a configuration, and where. It never quotes
// the value of redis_auth.
type Error struct {
	File string // the file; "" for a pool built from flags
	Line int    // 1-based line in File; 0 when unknown
	Pool string // the pool's name; "" when the error is not about one pool
	Key  string // twemproxy's key ("server_connections", "servers"); "" when about the structure
	Err  error  // what is wrong
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Pool != "" {
		b.WriteString("pool ")
		b.WriteString(strconv.Quote(e.Pool))
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Flag names the podkit memcache-proxy flag that sets Key: "servers" is
// --server, other keys are --key-with-dashes ("--server-connections").
// It is "" when Key is.
func (e *Error) Flag() string {
	switch e.Key {
	case "":
		return ""
	case "servers":
		return "--server"
	}
	return "--" + strings.ReplaceAll(e.Key, "_", "-")
}

// quote quotes a value for a message, cut to a length a log line can carry.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
