package protocol

import "math"

// The meta commands. The proxy checks what it needs to route and frame them
// (the key, the data length, q and b) and what memcached would reject without
// consuming an ms data block; every other flag is memcached's to judge, and
// its error reply comes back through the proxy unchanged.

// metaMaxTokens: memcached rejects a meta line of more than 19 tokens
// (MFLAG_MAX_OPT_LENGTH counts the terminal token too).
const metaMaxTokens = 19

// parseMeta: mg|md|ma <key> <flag>*, me <key> [b], and mn.
func (rr *RequestReader) parseMeta(req *Request) error {
	t := req.tokens
	if req.Command == CmdMetaNoop {
		return nil // memcached ignores any arguments
	}
	if len(t) < 2 {
		if req.Command == CmdMetaDebug {
			return reject(req.Command, ReasonBadFormat, ReplyBadFormat, false)
		}
		return reject(req.Command, ReasonBadFormat, ReplyError, false)
	}
	if reason := rr.checkKey(t[1]); reason != "" {
		return reject(req.Command, reason, ReplyBadFormat, false)
	}
	if req.Command == CmdMetaDebug {
		// me takes no flags but a "b" right after the key.
		req.Args = t[2:]
		rr.metaKey(req, len(t) > 2 && string(t[2]) == "b")
		return nil
	}
	if len(t) > metaMaxTokens {
		reply := ReplyMetaFlagsLong
		if req.Command == CmdMetaGet {
			reply = ReplyMetaGetFlagsLong
		}
		return reject(req.Command, ReasonBadFormat, reply, false)
	}
	req.Args = t[2:]
	rr.metaKey(req, rr.metaFlags(req))
	return nil
}

// parseMetaSet: ms <key> <datalen> <flag>*, then the data block.
func (rr *RequestReader) parseMetaSet(req *Request) error {
	t := req.tokens
	if len(t) < 2 {
		return reject(req.Command, ReasonBadFormat, ReplyError, true)
	}
	vlen, okLen := int32(0), false
	if len(t) > 2 {
		vlen, okLen = parseInt32(t[2])
		okLen = okLen && vlen >= 0 && vlen <= math.MaxInt32-2
	}
	var e *Error
	switch {
	case len(t[1]) > MaxKeyLength:
		e = reject(req.Command, ReasonKeyTooLong, ReplyBadFormat, false)
	case len(t) == 2:
		e = reject(req.Command, ReasonBadFormat, ReplyBadFormat, false)
	case len(t) > metaMaxTokens:
		e = reject(req.Command, ReasonBadFormat, ReplyMetaFlagsLong, false)
	case !okLen:
		e = reject(req.Command, ReasonBadFormat, ReplyBadFormat, false)
	}
	if e == nil {
		if reason := rr.checkKey(t[1]); reason != "" {
			e = reject(req.Command, reason, ReplyBadFormat, false)
		}
	}
	if e != nil {
		if !okLen {
			e.Close = true // where the data block ends cannot be known
			return e
		}
		return rr.swallow(int(vlen), e)
	}
	req.Args = t[3:]
	keyOK := rr.metaKey(req, rr.metaFlags(req))
	if int(vlen) > rr.lim.MaxItemSize {
		e := reject(req.Command, ReasonTooLarge, ReplyTooLarge, false)
		if keyOK {
			e.Invalidate = req.Keys[0] // memcached unlinks the key whatever the mode
		}
		return rr.swallow(int(vlen), e)
	}
	return rr.readData(req, int(vlen))
}

// metaFlags notes the q flag in req.Args and reports a b flag. memcached
// knows a flag by its first byte. A single q can be dropped when forwarding;
// with two, memcached answers "duplicate flag" whatever else is sent, so the
// line is forwarded as it is.
func (rr *RequestReader) metaFlags(req *Request) (base64Key bool) {
	off := len(req.tokens) - len(req.Args)
	q := 0
	for i, f := range req.Args {
		switch f[0] {
		case 'q':
			if q++; q == 1 {
				req.strip = off + i
			} else {
				req.strip = -1
			}
			req.Quiet = true
		case 'b':
			base64Key = true
		}
	}
	return base64Key
}

// metaKey sets req.Keys to the key token, decoded if b64; it reports false
// when the key does not decode (memcached will answer the error).
func (rr *RequestReader) metaKey(req *Request, b64 bool) bool {
	key, ok := req.tokens[1], true
	if b64 {
		var k []byte
		if k, ok = decodeMetaKey(req.keybuf[:0], key); ok {
			req.keybuf = k
			key = k
		}
	}
	req.key1[0] = key
	req.Keys = req.key1[:]
	return ok
}
