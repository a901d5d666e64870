package load

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

const (
	opGet = 0
	opSet = 1
)

// request is one request in flight. The slots are allocated once per
// connection and reused, so a request costs no allocation.
type request struct {
	op      int
	keys    []int    // opGet: the keys asked for, in order; opSet: keys[0]
	floor   []uint64 // opGet: per key, the version acknowledged before sending
	version uint64   // opSet
	start   int64    // ns since the run's base time, just before sending
}

// appendRequest appends req's command: "get k1 k2 ...\r\n" or
// "set k flags 0 n\r\n<value>\r\n".
func (g *codec) appendRequest(b []byte, req *request) []byte {
	if req.op == opGet {
		b = append(b, "get"...)
		for _, k := range req.keys {
			b = append(b, ' ')
			b = g.appendKey(b, k)
		}
		return append(b, "\r\n"...)
	}
	b = append(b, "set "...)
	b = g.appendKey(b, req.keys[0])
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(flagsOf(req.version)), 10)
	b = append(b, " 0 "...)
	b = strconv.AppendInt(b, int64(g.cfg.ValueSize), 10)
	b = append(b, "\r\n"...)
	g.keyBuf = g.appendKey(g.keyBuf[:0], req.keys[0])
	b = appendValue(b, g.keyBuf, req.version, g.cfg.ValueSize, g.filler)
	return append(b, "\r\n"...)
}

func (g *codec) appendKey(b []byte, k int) []byte {
	b = append(b, g.cfg.KeyPrefix...)
	return strconv.AppendUint(b, uint64(k), 10)
}

// parseKey returns the index of a key mcload writes, or false.
func (g *codec) parseKey(key []byte) (int, bool) {
	digits, ok := bytes.CutPrefix(key, []byte(g.cfg.KeyPrefix))
	if !ok || len(digits) == 0 || len(digits) > 1 && digits[0] == '0' {
		return 0, false
	}
	v, ok := parseUint(digits)
	if !ok || v >= uint64(g.cfg.Keys) {
		return 0, false
	}
	return int(v), true
}

func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// errMangled marks a response stream that cannot be parsed: the
// connection is out of step and must be redialled.
var errMangled = errors.New("protocol error")

func protoErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errMangled, fmt.Sprintf(format, a...))
}

// readLine returns the next line without its "\r\n", valid until the next read.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, protoErr("response line longer than %d bytes", r.Size())
		}
		if errors.Is(err, io.EOF) && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, protoErr("line not ended by \\r\\n: %.80q", line)
	}
	return line[:len(line)-2], nil
}

// isError reports the replies memcached gives to a request it could not
// serve; they end that request's response.
func isError(line []byte) bool {
	return bytes.Equal(line, []byte("ERROR")) ||
		bytes.HasPrefix(line, []byte("CLIENT_ERROR")) || bytes.HasPrefix(line, []byte("SERVER_ERROR"))
}

// readResponse reads the response to req and checks it. It returns an
// error only when the stream cannot be trusted any more (protocol, I/O);
// wrong content is counted in st and reading goes on.
func (g *codec) readResponse(r *bufio.Reader, req *request, st *stats) error {
	if req.op == opSet {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		switch {
		case bytes.Equal(line, []byte("STORED")):
			g.acked[req.keys[0]].Store(req.version)
		case bytes.Equal(line, []byte("NOT_STORED")), bytes.Equal(line, []byte("EXISTS")), bytes.Equal(line, []byte("NOT_FOUND")):
			st.fail(errNotStored, "set %s%d: %s", g.cfg.KeyPrefix, req.keys[0], line)
		case isError(line):
			st.fail(errServer, "set %s%d: %.80q", g.cfg.KeyPrefix, req.keys[0], line)
		default:
			return protoErr("set %s%d: unexpected reply %.80q", g.cfg.KeyPrefix, req.keys[0], line)
		}
		st.sets++
		return nil
	}

	st.gets++
	st.getKeys += int64(len(req.keys))
	next := 0 // memcached answers hits in the order asked; a key before next was answered or skipped
	for {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		rest, ok := bytes.CutPrefix(line, []byte("VALUE "))
		if !ok {
			switch {
			case bytes.Equal(line, []byte("END")):
				return nil
			case isError(line):
				st.fail(errServer, "get: %.80q", line)
				return nil
			}
			return protoErr("get: unexpected reply %.80q", line)
		}
		// VALUE <key> <flags> <bytes> [<cas>]
		key, rest, _ := bytes.Cut(rest, []byte(" "))
		flagsB, rest, _ := bytes.Cut(rest, []byte(" "))
		sizeB, _, _ := bytes.Cut(rest, []byte(" "))
		flags, ok1 := parseUint(flagsB)
		size, ok2 := parseUint(sizeB)
		if len(key) == 0 || !ok1 || !ok2 || flags > 1<<32-1 {
			return protoErr("get: bad VALUE line %.80q", line)
		}
		if size > maxValue {
			// mcload never writes one; reading it would cost what the
			// length says, and a mangled length can say anything.
			return protoErr("get: VALUE of %d bytes, more than mcload writes: %.80q", size, line)
		}
		// The line's bytes are overwritten by the next read: keep what is needed.
		k, known := g.parseKey(key)
		if !known {
			st.fail(errUnexpected, "get: VALUE for a key never requested: %.80q", key)
		}
		data, err := readData(r, int(size), &g.scratch)
		if err != nil {
			return err
		}
		if !known {
			continue
		}
		i := next
		for i < len(req.keys) && req.keys[i] != k {
			i++
		}
		if i == len(req.keys) {
			st.fail(errUnexpected, "get: VALUE for %s%d, not requested or out of order", g.cfg.KeyPrefix, k)
			continue
		}
		next = i + 1
		st.hits++
		g.keyBuf = g.appendKey(g.keyBuf[:0], k)
		version, kind := checkValue(data, g.keyBuf)
		switch {
		case kind == errWrongKey:
			sp := bytes.IndexByte(data, ' ')
			st.fail(kind, "get %s: returned the value of %.80q", g.keyBuf, data[:sp])
		case kind != errNone:
			st.fail(kind, "get %s: %d-byte value fails its checksum: %.60q", g.keyBuf, len(data), data)
		case uint32(flags) != flagsOf(version):
			st.fail(errFlags, "get %s: flags %d, written with %d", g.keyBuf, flags, flagsOf(version))
		case version < req.floor[i]:
			st.fail(errStale, "get %s: version %d, but %d was stored before the get was sent", g.keyBuf, version, req.floor[i])
		}
	}
}

// readData reads a data block of n bytes and its "\r\n". The bytes are
// valid until the next read: they are in r's buffer when they fit, else in
// *scratch.
func readData(r *bufio.Reader, n int, scratch *[]byte) ([]byte, error) {
	var data []byte
	if n+2 <= r.Size() {
		b, err := r.Peek(n + 2)
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		data = b
		if _, err := r.Discard(n + 2); err != nil {
			return nil, err
		}
	} else {
		if cap(*scratch) < n+2 {
			*scratch = make([]byte, n+2)
		}
		data = (*scratch)[:n+2]
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, unexpectedEOF(err)
		}
	}
	if data[n] != '\r' || data[n+1] != '\n' {
		return nil, protoErr("data block of %d bytes not followed by \\r\\n", n)
	}
	return data[:n], nil
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
