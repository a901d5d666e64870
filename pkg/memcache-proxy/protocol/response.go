package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Status is the kind of a server's response line.
type Status uint8

// The responses a memcached server sends.
const (
	StatusUnknown Status = iota

	StatusValue     // VALUE <key> <flags> <bytes> [<cas>] and a data block
	StatusEnd       // END
	StatusStored    // STORED
	StatusNotStored // NOT_STORED
	StatusExists    // EXISTS
	StatusNotFound  // NOT_FOUND
	StatusDeleted   // DELETED
	StatusTouched   // TOUCHED
	StatusNumber    // the new value after incr or decr
	StatusOK        // OK (verbosity, flush_all)
	StatusReset     // RESET (stats reset)
	StatusVersion   // VERSION <version>
	StatusStat      // STAT <name> <value>

	StatusError       // ERROR
	StatusClientError // CLIENT_ERROR <message>
	StatusServerError // SERVER_ERROR <message>

	StatusMetaValue // VA <size> <flag>* and a data block
	StatusMetaHD    // HD <flag>*: success, no value
	StatusMetaEN    // EN <flag>*: miss
	StatusMetaNF    // NF <flag>*: not found
	StatusMetaNS    // NS <flag>*: not stored
	StatusMetaEX    // EX <flag>*: cas mismatch
	StatusMetaNoop  // MN
	StatusMetaDebug // ME <key> <key>=<value>*
	numStatuses
)

var statusNames = [numStatuses]string{
	"unknown", "VALUE", "END", "STORED", "NOT_STORED", "EXISTS", "NOT_FOUND", "DELETED", "TOUCHED",
	"number", "OK", "RESET", "VERSION", "STAT", "ERROR", "CLIENT_ERROR", "SERVER_ERROR",
	"VA", "HD", "EN", "NF", "NS", "EX", "MN", "ME",
}

func (s Status) String() string {
	if s >= numStatuses {
		return "unknown"
	}
	return statusNames[s]
}

// IsError reports ERROR, CLIENT_ERROR and SERVER_ERROR.
func (s Status) IsError() bool { return s >= StatusError && s <= StatusServerError }

// Response is one response line from a server, with its data block for
// VALUE and VA. A ResponseReader fills it in place, reusing its buffers: Key
// and Data alias them until the next Read into the same Response.
type Response struct {
	Status Status
	Key    []byte // VALUE: the key
	Flags  uint32 // VALUE: client flags
	Cas    uint64 // VALUE: the cas unique, when HasCas (gets, gats)
	HasCas bool
	Number uint64 // StatusNumber
	Data   []byte // VALUE and VA: the data block, without its \r\n

	line []byte // the response line without \r\n
	data []byte // backing for Data
}

// Line returns the response line without its "\r\n".
func (r *Response) Line() []byte { return r.line }

func (r *Response) reset() {
	line, data := r.line[:0], r.data[:0]
	if cap(line) > retainBytes {
		line = nil
	}
	if cap(data) > retainBytes {
		data = nil
	}
	*r = Response{line: line, data: data}
}

// ResponseReader parses a server's responses. It is strict, since anything
// unexpected means the connection is out of sync: lines end in "\r\n", are at
// most MaxLine long, and data blocks are at most MaxItemSize. It is not safe
// for concurrent use; each backend connection has its own.
type ResponseReader struct {
	br        *bufio.Reader
	lim       Limits
	lineBytes int // the last line read, with its terminator
	need      int // see Need
}

// Need is RequestReader.Need for responses: after a Read that failed with
// its source's error, the length of the whole response unit when its line
// was read and gave a data block's length, else 0.
func (rr *ResponseReader) Need() int { return rr.need }

// NewResponseReader reads responses from br within lim (zero fields take
// their defaults).
func NewResponseReader(br *bufio.Reader, lim Limits) *ResponseReader {
	return &ResponseReader{br: br, lim: lim.withDefaults()}
}

// Read parses the next response line, and its data block if it has one, into
// resp. It returns nil, an error wrapping [ErrBadResponse], io.EOF when the
// stream ends between responses, io.ErrUnexpectedEOF inside one, or the
// reader's error. After any error the connection must be closed.
func (rr *ResponseReader) Read(resp *Response) error {
	rr.need = 0
	resp.reset()
	if err := rr.readLine(resp); err != nil {
		return err
	}
	l := resp.line
	if len(l) == 0 {
		return badResponse("empty line", l)
	}
	switch {
	case l[0] >= '0' && l[0] <= '9':
		n, ok := parseDigits(l)
		if !ok {
			return badResponse("bad number", l)
		}
		resp.Status, resp.Number = StatusNumber, n
		return nil
	case hasWord(l, "VALUE"):
		return rr.readValue(resp)
	case hasWord(l, "VA"):
		return rr.readMetaValue(resp)
	}
	resp.Status = classify(l)
	if resp.Status == StatusUnknown {
		return badResponse("unknown response", l)
	}
	return nil
}

// classify knows every response line but numbers, VALUE and VA.
func classify(l []byte) Status {
	switch string(l) {
	case "END":
		return StatusEnd
	case "STORED":
		return StatusStored
	case "NOT_STORED":
		return StatusNotStored
	case "EXISTS":
		return StatusExists
	case "NOT_FOUND":
		return StatusNotFound
	case "DELETED":
		return StatusDeleted
	case "TOUCHED":
		return StatusTouched
	case "OK":
		return StatusOK
	case "RESET":
		return StatusReset
	}
	switch {
	case hasWord(l, "HD"):
		return StatusMetaHD
	case hasWord(l, "EN"):
		return StatusMetaEN
	case hasWord(l, "NF"):
		return StatusMetaNF
	case hasWord(l, "NS"):
		return StatusMetaNS
	case hasWord(l, "EX"):
		return StatusMetaEX
	case hasWord(l, "MN"):
		return StatusMetaNoop
	case len(l) > 3 && hasWord(l, "ME"):
		return StatusMetaDebug
	case len(l) > 8 && hasWord(l, "VERSION"):
		return StatusVersion
	case len(l) > 5 && hasWord(l, "STAT"):
		return StatusStat
	case bytes.HasPrefix(l, []byte("ERROR")): // also "ERROR: shutdown not enabled"
		return StatusError
	case hasWord(l, "CLIENT_ERROR"):
		return StatusClientError
	case hasWord(l, "SERVER_ERROR"):
		return StatusServerError
	}
	return StatusUnknown
}

// hasWord reports whether l is w or starts with w and a space.
func hasWord(l []byte, w string) bool {
	return len(l) >= len(w) && string(l[:len(w)]) == w && (len(l) == len(w) || l[len(w)] == ' ')
}

func badResponse(what string, line []byte) error {
	const show = 64
	if len(line) > show {
		line = line[:show]
	}
	return fmt.Errorf("%w: %s: %q", ErrBadResponse, what, line)
}

// readLine reads one "\r\n"-terminated line into resp.line.
func (rr *ResponseReader) readLine(resp *Response) error {
	line := resp.line[:0]
	for {
		frag, err := rr.br.ReadSlice('\n')
		if len(line)+len(frag) > rr.lim.MaxLine {
			return badResponse("line too long", append(line, frag...))
		}
		line = append(line, frag...)
		switch {
		case err == nil:
			n := len(line)
			if n < 2 || line[n-2] != '\r' {
				return badResponse("line not ended by \\r\\n", line)
			}
			rr.lineBytes = n
			resp.line = line[:n-2]
			return nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(line) == 0 {
				return io.EOF
			}
			return io.ErrUnexpectedEOF
		default:
			return err
		}
	}
}

// readValue: VALUE <key> <flags> <bytes> [<cas unique>].
func (rr *ResponseReader) readValue(resp *Response) error {
	var fields [6][]byte
	f, more := tokenizeSingle(fields[:0], resp.line, len(fields))
	if more || (len(f) != 4 && len(f) != 5) || len(f[1]) == 0 {
		return badResponse("bad VALUE line", resp.line)
	}
	flags, ok1 := parseDigits(f[2])
	size, ok2 := parseDigits(f[3])
	if !ok1 || !ok2 || flags > 1<<32-1 {
		return badResponse("bad VALUE line", resp.line)
	}
	if len(f) == 5 {
		cas, ok := parseDigits(f[4])
		if !ok {
			return badResponse("bad VALUE line", resp.line)
		}
		resp.Cas, resp.HasCas = cas, true
	}
	resp.Status, resp.Key, resp.Flags = StatusValue, f[1], uint32(flags)
	return rr.readData(resp, size)
}

// readMetaValue: VA <size> <flag>*.
func (rr *ResponseReader) readMetaValue(resp *Response) error {
	var fields [3][]byte
	f, _ := tokenizeSingle(fields[:0], resp.line, len(fields))
	if len(f) < 2 {
		return badResponse("bad VA line", resp.line)
	}
	size, ok := parseDigits(f[1])
	if !ok {
		return badResponse("bad VA line", resp.line)
	}
	resp.Status = StatusMetaValue
	return rr.readData(resp, size)
}

func (rr *ResponseReader) readData(resp *Response, size uint64) error {
	if size > uint64(rr.lim.MaxItemSize) {
		return badResponse("value over the item size limit", resp.line)
	}
	n := int(size)
	rr.need = rr.lineBytes + n + 2
	if cap(resp.data) < n+2 {
		resp.data = make([]byte, n+2)
	}
	buf := resp.data[:n+2]
	if _, err := io.ReadFull(rr.br, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if buf[n] != '\r' || buf[n+1] != '\n' {
		return badResponse("data block not ended by \\r\\n", resp.line)
	}
	resp.Data = buf[:n]
	return nil
}

// tokenizeSingle splits a server line on single spaces (servers write no
// others; an empty field is kept and fails the caller's checks), at most limit
// fields; more reports that others followed.
func tokenizeSingle(dst [][]byte, line []byte, limit int) (fields [][]byte, more bool) {
	for {
		if len(dst) == limit {
			return dst, true
		}
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			return append(dst, line), false
		}
		dst = append(dst, line[:i])
		line = line[i+1:]
	}
}

// Ends reports how r relates to a request of command cmd: done is true when
// r completes the request's response unit (END after VALUE items, the one
// line of any other command, or an error line); ok is false when r cannot
// answer cmd at all, which means the connection is out of sync and must be
// closed (done is then true too). Every request gets a unit only if it was
// forwarded with AppendRequest's withReply (no noreply, no single q).
func (r *Response) Ends(cmd Command) (done, ok bool) {
	s := r.Status
	if s.IsError() {
		return true, true
	}
	switch cmd {
	case CmdGet, CmdGets, CmdGat, CmdGats:
		return s != StatusValue, s == StatusValue || s == StatusEnd
	case CmdSet, CmdAdd, CmdReplace, CmdAppend, CmdPrepend, CmdCas:
		return true, s == StatusStored || s == StatusNotStored || s == StatusExists || s == StatusNotFound
	case CmdDelete:
		return true, s == StatusDeleted || s == StatusNotFound
	case CmdIncr, CmdDecr:
		return true, s == StatusNumber || s == StatusNotFound
	case CmdTouch:
		return true, s == StatusTouched || s == StatusNotFound
	case CmdMetaGet:
		return true, s == StatusMetaValue || s == StatusMetaHD || s == StatusMetaEN
	case CmdMetaSet:
		return true, s == StatusMetaHD || s == StatusMetaNS || s == StatusMetaEX || s == StatusMetaNF
	case CmdMetaDelete:
		return true, s == StatusMetaHD || s == StatusMetaNF || s == StatusMetaEX
	case CmdMetaArithmetic:
		return true, s == StatusMetaValue || s == StatusMetaHD || s == StatusMetaNF || s == StatusMetaNS || s == StatusMetaEX
	case CmdMetaDebug:
		return true, s == StatusMetaDebug || s == StatusMetaEN
	case CmdMetaNoop:
		return true, s == StatusMetaNoop
	case CmdVersion:
		return true, s == StatusVersion
	case CmdVerbosity, CmdFlushAll:
		return true, s == StatusOK
	case CmdStats:
		return s != StatusStat, s == StatusStat || s == StatusEnd || s == StatusReset || s == StatusOK
	}
	return true, false
}

// HiddenByQuiet reports whether memcached 1.6 would have left resp out had
// the request carried the q flag: a miss for mg; success for ms and md; and
// success for ma, even with its value (VA). Errors are never hidden. The
// proxy forwards a quiet request without q and drops these itself.
func (r *Response) HiddenByQuiet(cmd Command) bool {
	switch cmd {
	case CmdMetaGet:
		return r.Status == StatusMetaEN
	case CmdMetaSet, CmdMetaDelete:
		return r.Status == StatusMetaHD
	case CmdMetaArithmetic:
		return r.Status == StatusMetaHD || r.Status == StatusMetaValue
	}
	return false
}
