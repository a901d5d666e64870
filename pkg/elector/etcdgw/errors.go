package etcdgw

import (
	"errors"
	"fmt"
	"strings"
)

// Errors callers test with errors.Is.
var (
	// ErrLeaseLost: the lease expired or was revoked (etcd answers a
	// keep-alive of an unknown lease with no TTL, or TTL 0).
	ErrLeaseLost = errors.New("etcdgw: lease lost")
	// ErrCompacted: a watch's start revision was compacted away. The error
	// is a *CompactedError that holds the compaction revision.
	ErrCompacted = errors.New("etcdgw: revision compacted")
	// ErrAuthFailed: etcd refused the username or password.
	ErrAuthFailed = errors.New("etcdgw: authentication failed")
	// ErrWatchEnded: the watch stream ended (the member went away, or etcd
	// canceled the watch); watch again from the next revision.
	ErrWatchEnded = errors.New("etcdgw: watch ended")
)

// gRPC status codes etcd reports, as the gateway passes them on.
const (
	CodeInvalidArgument = 3
	CodeNotFound        = 5
	CodePermission      = 7
	CodeUnavailable     = 14
	CodeUnauthenticated = 16
)

// Error is an error answer from etcd.
type Error struct {
	Endpoint   string // e.g. http://10.0.0.1:2379
	Path       string // e.g. /v3/kv/range
	HTTPStatus int    // 0 inside a stream
	Code       int    // gRPC status code
	Message    string // e.g. "etcdserver: requested lease not found"
}

func (e *Error) Error() string {
	return fmt.Sprintf("etcdgw: POST %s%s: %s (code %d)", e.Endpoint, e.Path, e.Message, e.Code)
}

// authExpired: the token is no longer valid (expired, or issued before an
// auth change); authenticating again may help.
func (e *Error) authExpired() bool {
	return e.Code == CodeUnauthenticated || authExpiredMessage(e.Message)
}

func authExpiredMessage(m string) bool {
	return strings.Contains(m, "invalid auth token") ||
		strings.Contains(m, "user name is empty") ||
		strings.Contains(m, "revision of auth store is old") ||
		strings.Contains(m, "Unauthenticated")
}

// CompactedError says a watch started before the compaction revision.
type CompactedError struct {
	CompactRevision int64 // the oldest revision still watchable
}

func (e *CompactedError) Error() string {
	return fmt.Sprintf("etcdgw: watch: revision compacted (compact revision %d)", e.CompactRevision)
}

// Unwrap makes errors.Is(err, ErrCompacted) hold.
func (e *CompactedError) Unwrap() error { return ErrCompacted }
