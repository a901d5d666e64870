package protocol

import (
	"bytes"
	"encoding/base64"
	"strconv"
)

// Reply lines the proxy writes itself.
const (
	ReplyEnd      = "END\r\n"
	ReplyOK       = "OK\r\n"
	ReplyMetaNoop = "MN\r\n"
)

// AppendRequest appends req as a server should receive it: its tokens joined
// by single spaces (memcached reads any run of spaces as one), "\r\n", and the
// data block with its "\r\n". With withReply the noreply token or a single q
// flag is left out, so that the server answers every request with exactly one
// response unit; the caller then drops the replies the client did not want
// (all of them for NoReply, those [Response.HiddenByQuiet] reports for
// Quiet). A retrieval request is written with all its keys; see [AppendGet]
// for a subset.
func AppendRequest(dst []byte, req *Request, withReply bool) []byte {
	skip := -1
	if withReply {
		skip = req.strip
	}
	sep := false
	for i, t := range req.tokens {
		if i == skip {
			continue
		}
		if sep {
			dst = append(dst, ' ')
		}
		dst = append(dst, t...)
		sep = true
	}
	dst = append(dst, "\r\n"...)
	if req.Command.HasData() {
		dst = append(dst, req.Data...)
		dst = append(dst, "\r\n"...)
	}
	return dst
}

// AppendGet appends a retrieval command (get, gets, gat or gats; exptime is
// used by the last two) for keys, which must not be empty: the part of a
// client's multi-key get that one server holds. memcached answers a gat or
// gats line longer than [BackendMaxLine] by closing the connection; use
// [FitKeys] to split one.
func AppendGet(dst []byte, cmd Command, exptime int32, keys [][]byte) []byte {
	dst = append(dst, cmd.String()...)
	if cmd == CmdGat || cmd == CmdGats {
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(exptime), 10)
	}
	for _, k := range keys {
		dst = append(dst, ' ')
		dst = append(dst, k...)
	}
	return append(dst, "\r\n"...)
}

// FitKeys returns how many of keys, from the first, [AppendGet] can put in a
// line of at most maxLine bytes (its "\r\n" included); at least one if keys
// is not empty.
func FitKeys(cmd Command, exptime int32, keys [][]byte, maxLine int) int {
	n := len(cmd.String()) + len("\r\n")
	if cmd == CmdGat || cmd == CmdGats {
		var buf [12]byte
		n += 1 + len(strconv.AppendInt(buf[:0], int64(exptime), 10))
	}
	for i, k := range keys {
		n += 1 + len(k)
		if n > maxLine && i > 0 {
			return i
		}
	}
	return len(keys)
}

// AppendInvalidate appends an md request deleting key on its server: the key
// as it is, or in base64 (flag b) if it holds a space or a newline. The
// server answers one line (HD, NF or an error) that the proxy drops.
func AppendInvalidate(dst []byte, key []byte) []byte {
	dst = append(dst, "md "...)
	if bytes.ContainsAny(key, " \n") || len(key) == 0 {
		dst = base64.StdEncoding.AppendEncode(dst, key)
		return append(dst, " b\r\n"...)
	}
	dst = append(dst, key...)
	return append(dst, "\r\n"...)
}

// AppendResponse appends resp as the server sent it: its line, "\r\n", and
// for VALUE and VA the data block and "\r\n".
func AppendResponse(dst []byte, resp *Response) []byte {
	dst = append(dst, resp.line...)
	dst = append(dst, "\r\n"...)
	if resp.Status == StatusValue || resp.Status == StatusMetaValue {
		dst = append(dst, resp.Data...)
		dst = append(dst, "\r\n"...)
	}
	return dst
}

// AppendValue appends one VALUE item of a get (withCas false) or gets reply.
func AppendValue(dst, key []byte, flags uint32, data []byte, cas uint64, withCas bool) []byte {
	dst = append(dst, "VALUE "...)
	dst = append(dst, key...)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(flags), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(len(data)), 10)
	if withCas {
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, cas, 10)
	}
	dst = append(dst, "\r\n"...)
	dst = append(dst, data...)
	return append(dst, "\r\n"...)
}

// AppendStat appends one "STAT <name> <value>" line of a stats reply (end the
// reply with ReplyEnd).
func AppendStat(dst []byte, name, value string) []byte {
	dst = append(dst, "STAT "...)
	dst = append(dst, name...)
	dst = append(dst, ' ')
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}

// AppendVersion appends "VERSION <version>".
func AppendVersion(dst []byte, version string) []byte {
	dst = append(dst, "VERSION "...)
	dst = append(dst, version...)
	return append(dst, "\r\n"...)
}

// AppendServerError appends "SERVER_ERROR <msg>", what the proxy answers for
// a request its server failed (memcached's own wording for its failures is
// "SERVER_ERROR out of memory ..."; twemproxy sends the errno text).
func AppendServerError(dst []byte, msg string) []byte {
	dst = append(dst, "SERVER_ERROR "...)
	dst = append(dst, msg...)
	return append(dst, "\r\n"...)
}
