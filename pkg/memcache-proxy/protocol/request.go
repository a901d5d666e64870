package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Request is one parsed client request. A RequestReader fills it in place,
// reusing its buffers: Keys, Args and Data alias them and stay valid until
// the next Read into the same Request. A core that pipelines keeps several
// Requests (a pool) rather than copying.
type Request struct {
	Command Command

	// Keys are the keys in the client's order: one or more for get and
	// gets, zero or more for gat and gats (memcached answers a gat without
	// keys with a bare END), exactly one for a Keyed command, none for the
	// others. A meta key sent in base64 (flag b) is given decoded: those are
	// the bytes memcached stores and the proxy hashes. If it does not
	// decode, the raw token is given and memcached answers the error.
	Keys [][]byte

	NoReply bool // text protocol "noreply": the client reads no reply, not even an error
	Quiet   bool // meta flag q: memcached leaves out the nominal reply (see Response.HiddenByQuiet)

	Flags   uint32 // storage commands: client flags
	Exptime int32  // storage, touch, gat, gats; flush_all's delay
	Cas     uint64 // cas: the unique to compare
	Delta   uint64 // incr, decr
	Data    []byte // storage commands and ms: the data block, without its \r\n

	// Args are the tokens after the verb for stats, verbosity and flush_all,
	// and the flag tokens of a meta command (after the key, and after the
	// data length for ms).
	Args [][]byte

	tokens [][]byte // the line's tokens, aliasing line
	line   []byte   // the command line without its terminator
	data   []byte   // backing for Data: the block and its \r\n
	keybuf []byte   // a decoded base64 meta key
	key1   [1][]byte
	strip  int // index in tokens of the noreply or q token AppendRequest drops for withReply; -1: none
}

// Buffers grown past these by one large request are dropped at the next Read
// rather than kept for the connection's life.
const (
	retainBytes  = 64 << 10
	retainTokens = 1024
)

func (r *Request) reset() {
	tokens, line, data, keybuf := r.tokens[:0], r.line[:0], r.data[:0], r.keybuf[:0]
	if cap(tokens) > retainTokens {
		tokens = nil
	}
	if cap(line) > retainBytes {
		line = nil
	}
	if cap(data) > retainBytes {
		data = nil
	}
	*r = Request{tokens: tokens, line: line, data: data, keybuf: keybuf, strip: -1}
}

// RequestReader parses client requests from a stream. It is not safe for
// concurrent use; each client connection has its own.
type RequestReader struct {
	br  *bufio.Reader
	lim Limits

	lineBytes int // the last line read, with its terminator
	need      int // see Need

	// DeferSwallow leaves the data block of a rejected storage request
	// unread: Read returns the *Error with Skip set, and the caller skips
	// the bytes and calls Swallowed. An event loop needs this to skip a
	// value larger than it may buffer (memcached skips it too).
	DeferSwallow bool
}

// NewRequestReader reads requests from br within lim (zero fields take their
// defaults; see [Limits.Validate]).
func NewRequestReader(br *bufio.Reader, lim Limits) *RequestReader {
	return &RequestReader{br: br, lim: lim.withDefaults()}
}

// Read parses the next request into req. It returns nil, an [*Error] for a
// request to reject (write its Reply, then go on or close as it says), io.EOF
// when the stream ends cleanly between requests, io.ErrUnexpectedEOF when it
// ends inside one (a client that sent half a command and left), or the
// reader's error.
func (rr *RequestReader) Read(req *Request) error {
	req.reset()
	rr.need = 0
	if err := rr.readLine(req); err != nil {
		return err
	}
	var truncated bool
	req.tokens, truncated = tokenize(req.tokens, req.line, max(rr.lim.MaxKeys+3, 32))
	t := req.tokens
	if len(t) == 0 {
		return reject(CmdUnknown, ReasonUnknownCommand, ReplyError, false)
	}
	req.Command = lookupCommand(t[0])
	switch c := req.Command; {
	case c.IsRetrieval():
		return rr.parseRetrieval(req, truncated)
	case c >= CmdSet && c <= CmdCas:
		return rr.parseStorage(req)
	case c == CmdDelete:
		return rr.parseDelete(req)
	case c == CmdIncr || c == CmdDecr:
		return rr.parseArithmetic(req)
	case c == CmdTouch:
		return rr.parseTouch(req)
	case c == CmdMetaSet:
		return rr.parseMetaSet(req)
	case c.IsMeta():
		return rr.parseMeta(req)
	case c == CmdVersion || c == CmdQuit:
		return nil // memcached ignores any arguments
	case c == CmdStats:
		req.Args = t[1:]
		return nil
	case c == CmdVerbosity:
		return rr.parseVerbosity(req)
	case c == CmdFlushAll:
		return rr.parseFlushAll(req)
	}
	if bytes.HasPrefix(t[len(t)-1], []byte("HTTP/")) {
		return reject(CmdUnknown, ReasonHTTP, "", true)
	}
	return reject(CmdUnknown, ReasonUnknownCommand, ReplyError, false)
}

func reject(c Command, reason Reason, reply string, closeConn bool) *Error {
	return &Error{Command: c, Reason: reason, Reply: reply, Close: closeConn}
}

// rejectQuiet is reject for an error memcached leaves unanswered when the
// request said noreply.
func rejectQuiet(req *Request, reason Reason, reply string) *Error {
	if req.NoReply {
		reply = ""
	}
	return reject(req.Command, reason, reply, false)
}

// readLine reads one command line into req.line, without its "\n" and one
// "\r" before it (memcached accepts both terminators). A line longer than
// MaxLine is allowed up to MaxGetLine if it starts as a retrieval command.
func (rr *RequestReader) readLine(req *Request) error {
	line := req.line[:0]
	limit := rr.lim.MaxLine
	for {
		frag, err := rr.br.ReadSlice('\n')
		if len(line)+len(frag) > limit && limit < rr.lim.MaxGetLine && retrievalPrefix(line, frag) {
			limit = rr.lim.MaxGetLine
		}
		if len(line)+len(frag) > limit {
			req.line = line
			return rr.lineTooLong(line, frag, err, limit == rr.lim.MaxGetLine)
		}
		line = append(line, frag...)
		switch {
		case err == nil:
			rr.lineBytes = len(line)
			line = line[:len(line)-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			req.line = line
			return nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			req.line = line
			if len(line) == 0 {
				return io.EOF
			}
			return io.ErrUnexpectedEOF
		default:
			req.line = line
			return err
		}
	}
}

// lineTooLong rejects an over-long line. A retrieval line has no data block,
// so the rest of it is skipped and the client can go on; any other could be
// followed by data that must not be read as commands, so the connection is
// closed (memcached closes it too, without a reply).
func (rr *RequestReader) lineTooLong(line, frag []byte, err error, retrieval bool) error {
	var buf [lineHead]byte
	cmd := CmdUnknown
	if h := bytes.TrimLeft(head(buf[:0], line, frag), " "); bytes.IndexByte(h, ' ') > 0 {
		cmd = lookupCommand(h[:bytes.IndexByte(h, ' ')])
	}
	if !retrieval {
		return reject(cmd, ReasonLineTooLong, ReplyLineTooLong, true)
	}
	for errors.Is(err, bufio.ErrBufferFull) {
		_, err = rr.br.ReadSlice('\n')
	}
	switch {
	case err == nil:
		return reject(cmd, ReasonLineTooLong, ReplyLineTooLong, false)
	case errors.Is(err, io.EOF):
		return io.ErrUnexpectedEOF
	default:
		return err
	}
}

// lineHead is how much of a line's start retrievalPrefix looks at.
const lineHead = 112

// head appends to dst the first bytes of the line made of line and frag.
func head(dst, line, frag []byte) []byte {
	dst = append(dst, line[:min(len(line), lineHead)]...)
	return append(dst, frag[:min(len(frag), lineHead-len(dst))]...)
}

// retrievalPrefix reports whether the line made of line and frag starts, after
// up to 100 spaces, with a retrieval verb and a space (memcached's own test
// for letting a long line through, extended to gat and gats).
func retrievalPrefix(line, frag []byte) bool {
	var buf [lineHead]byte
	p := head(buf[:0], line, frag)
	i := 0
	for i < len(p) && i <= 100 && p[i] == ' ' {
		i++
	}
	p = p[i:]
	for _, v := range [...]string{"get ", "gets ", "gat ", "gats "} {
		if len(p) >= len(v) && string(p[:len(v)]) == v {
			return true
		}
	}
	return false
}

// tokenize appends the space-separated tokens of line to dst, at most limit
// of them; truncated reports that more followed. Only ' ' separates, as in
// memcached: a tab is part of a token.
func tokenize(dst [][]byte, line []byte, limit int) (tokens [][]byte, truncated bool) {
	for i := 0; i < len(line); {
		if line[i] == ' ' {
			i++
			continue
		}
		if len(dst) == limit {
			return dst, true
		}
		j := bytes.IndexByte(line[i:], ' ')
		if j < 0 {
			j = len(line)
		} else {
			j += i
		}
		dst = append(dst, line[i:j:j])
		i = j
	}
	return dst, false
}

// checkKey validates a key token: length, and control characters under
// StrictKeys. It returns the reason to reject, or "".
func (rr *RequestReader) checkKey(key []byte) Reason {
	if len(key) > MaxKeyLength {
		return ReasonKeyTooLong
	}
	if rr.lim.StrictKeys {
		for _, c := range key {
			if c < 0x21 || c == 0x7f {
				return ReasonBadKey
			}
		}
	}
	return ""
}

// readData reads a data block of n bytes and its "\r\n" into req.Data.
func (rr *RequestReader) readData(req *Request, n int) error {
	rr.need = rr.lineBytes + n + 2
	if cap(req.data) < n+2 {
		req.data = make([]byte, n+2)
	}
	buf := req.data[:n+2]
	if _, err := io.ReadFull(rr.br, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if buf[n] != '\r' || buf[n+1] != '\n' {
		// memcached answers and reads on from there, which runs the rest of
		// a mis-sized value as commands; the proxy closes instead.
		return reject(req.Command, ReasonBadDataChunk, ReplyBadDataChunk, true)
	}
	req.Data = buf[:n]
	return nil
}

// Need is, after a Read that failed with its source's error (for a
// non-blocking source: no more input yet), how many bytes from the start of
// the request it was reading that request takes in all, when that is known
// (it has a data block whose line was read); else 0. A caller parsing
// input as it arrives waits for that many bytes before trying again, so a
// value trickling in is not parsed again per packet.
func (rr *RequestReader) Need() int { return rr.need }

// swallow skips a data block of n bytes and its "\r\n" after a rejected
// storage request, as memcached does for the errors it swallows data on. If
// the block does not end with "\r\n" the stream is out of sync and e is
// turned into a closing error.
func (rr *RequestReader) swallow(n int, e *Error) error {
	if rr.DeferSwallow {
		e.Skip = n + 2
		return e
	}
	if _, err := rr.br.Discard(n); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	var crlf [2]byte
	if _, err := io.ReadFull(rr.br, crlf[:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	e.Swallowed(crlf)
	return e
}

// Swallowed completes an error whose Skip bytes the caller skipped; tail is
// their last two. If they are not "\r\n" the stream is out of sync and the
// client must be closed.
func (e *Error) Swallowed(tail [2]byte) {
	e.Skip = 0
	if tail != [2]byte{'\r', '\n'} {
		e.Close = true
		if e.Reply == "" {
			e.Reply = ReplyBadDataChunk
		}
	}
}
