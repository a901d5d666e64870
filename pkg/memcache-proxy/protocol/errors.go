package protocol

import (
	"errors"
	"strings"
)

// Error replies, byte for byte as memcached 1.6.18 sends them, plus the
// proxy's own for its limits.
const (
	ReplyError            = "ERROR\r\n" // unknown command, wrong number of tokens
	ReplyBadFormat        = "CLIENT_ERROR bad command line format\r\n"
	ReplyBadDataChunk     = "CLIENT_ERROR bad data chunk\r\n"
	ReplyTooLarge         = "SERVER_ERROR object too large for cache\r\n"
	ReplyBadExptime       = "CLIENT_ERROR invalid exptime argument\r\n"
	ReplyBadDelta         = "CLIENT_ERROR invalid numeric delta argument\r\n"
	ReplyDeleteUsage      = "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"
	ReplyMetaGetFlagsLong = "CLIENT_ERROR options flags are too long\r\n" // mg
	ReplyMetaFlagsLong    = "CLIENT_ERROR options flags too long\r\n"     // ms, md, ma
	// ReplyFlushAllDisabled is memcached's answer to flush_all when started
	// with -F; the proxy gives it too (twemproxy rejects flush_all) rather
	// than wiping every server of the pool.
	ReplyFlushAllDisabled = "CLIENT_ERROR flush_all not allowed\r\n"
	// The proxy's own: memcached has no such limits and closes the connection
	// on a long line without replying.
	ReplyLineTooLong = "CLIENT_ERROR line too long\r\n"
	ReplyTooManyKeys = "CLIENT_ERROR too many keys\r\n"
)

// Reason says why a request was rejected; it is a bounded metric label
// (podkit_memcache_proxy_rejected_total{reason}).
type Reason string

// The reasons an [*Error] carries.
const (
	ReasonUnknownCommand Reason = "unknown_command" // ERROR
	ReasonBadFormat      Reason = "bad_format"      // wrong token count, bad number, bad meta line
	ReasonKeyTooLong     Reason = "key_too_long"    // key over 250 bytes
	ReasonBadKey         Reason = "bad_key"         // control character in a key (Limits.StrictKeys)
	ReasonTooLarge       Reason = "too_large"       // data block over Limits.MaxItemSize
	ReasonBadDataChunk   Reason = "bad_data_chunk"  // data block not followed by \r\n
	ReasonLineTooLong    Reason = "line_too_long"   // over Limits.MaxLine or MaxGetLine
	ReasonTooManyKeys    Reason = "too_many_keys"   // over Limits.MaxKeys
	ReasonHTTP           Reason = "http"            // an HTTP request: closed without a reply, as memcached does
)

// Error is a request the parser rejected. The caller writes Reply (which may
// be empty: memcached stays silent on errors of a noreply request) and then
// closes the client connection if Close is set, or reads the next request:
// unless Close is set, the parser has consumed the whole bad request,
// including any data block, and the stream is in sync.
type Error struct {
	Command Command // as far as it was recognised
	Reason  Reason
	Reply   string
	Close   bool
	// Invalidate, when not nil, is a key whose old value memcached would
	// have dropped: a set or ms over the item size limit unlinks the
	// existing item so that readers do not see stale data. The proxy keeps
	// that by deleting the key on its server ([AppendInvalidate]). It
	// aliases the reader's buffers until the next Read.
	Invalidate []byte
	// Skip, with RequestReader.DeferSwallow, is how many bytes follow that
	// belong to the rejected request (its data block and "\r\n"): the
	// caller skips them, then calls Swallowed, before acting on the error.
	Skip int
}

func (e *Error) Error() string {
	msg := "memcache protocol: " + e.Command.String() + ": " + string(e.Reason)
	if r := strings.TrimSuffix(e.Reply, "\r\n"); r != "" {
		msg += ": " + r
	}
	if e.Close {
		msg += " (connection closed)"
	}
	return msg
}

// ErrBadResponse is wrapped by every [ResponseReader] error that is not an
// I/O error: the server sent something that is not a memcached response or
// exceeds the limits. The backend connection is out of sync and must be
// closed.
var ErrBadResponse = errors.New("memcache protocol: bad response")
