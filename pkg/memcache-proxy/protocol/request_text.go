package protocol

import "math"

// The classic text commands. Token counts, the checks and their order, and
// the reply for each failure follow memcached 1.6.18's proto_text.c, so that
// the first line a client sees is the one memcached would send.

// parseRetrieval: get|gets <key>*  and  gat|gats <exptime> <key>*.
func (rr *RequestReader) parseRetrieval(req *Request, truncated bool) error {
	t := req.tokens
	if len(t) < 2 {
		return reject(req.Command, ReasonBadFormat, ReplyError, false)
	}
	first := 1
	if req.Command == CmdGat || req.Command == CmdGats {
		exp, ok := parseInt32(t[1])
		if !ok {
			return reject(req.Command, ReasonBadFormat, ReplyBadExptime, false)
		}
		req.Exptime = exp
		first = 2
	}
	keys := t[first:]
	if truncated || len(keys) > rr.lim.MaxKeys {
		return reject(req.Command, ReasonTooManyKeys, ReplyTooManyKeys, false)
	}
	for _, k := range keys {
		if reason := rr.checkKey(k); reason != "" {
			// memcached drops the hits so far and answers only this.
			return reject(req.Command, reason, ReplyBadFormat, false)
		}
	}
	req.Keys = keys
	return nil
}

// parseStorage: set|add|replace|append|prepend <key> <flags> <exptime> <bytes> [noreply]
// and cas <key> <flags> <exptime> <bytes> <cas unique> [noreply], then the
// data block.
func (rr *RequestReader) parseStorage(req *Request) error {
	t := req.tokens
	n := 5
	if req.Command == CmdCas {
		n = 6
	}
	if len(t) != n && len(t) != n+1 {
		// Where the data block ends cannot be known.
		return reject(req.Command, ReasonBadFormat, ReplyError, true)
	}
	if string(t[len(t)-1]) == "noreply" { // memcached looks at the last token, whatever the count
		req.NoReply = true
		req.strip = len(t) - 1
	}
	flags, okFlags := parseUint32(t[2])
	exp, okExp := parseInt32(t[3])
	vlen, okLen := parseInt32(t[4])
	okLen = okLen && vlen >= 0 && vlen <= math.MaxInt32-2
	var reason Reason
	switch {
	case len(t[1]) > MaxKeyLength:
		reason = ReasonKeyTooLong
	case !okFlags || !okExp || !okLen:
		reason = ReasonBadFormat
	case req.Command == CmdCas:
		cas, ok := parseUint64(t[5])
		if !ok {
			reason = ReasonBadFormat
		}
		req.Cas = cas
	}
	if reason == "" {
		reason = rr.checkKey(t[1])
	}
	if reason != "" {
		if !okLen {
			return reject(req.Command, reason, ReplyBadFormat, true)
		}
		// memcached answers and then runs the data block as commands; the
		// proxy skips it.
		return rr.swallow(int(vlen), rejectQuiet(req, reason, ReplyBadFormat))
	}
	if int(vlen) > rr.lim.MaxItemSize {
		e := rejectQuiet(req, ReasonTooLarge, ReplyTooLarge)
		if req.Command == CmdSet {
			e.Invalidate = t[1]
		}
		return rr.swallow(int(vlen), e)
	}
	req.Flags, req.Exptime = flags, exp
	req.Keys = t[1:2]
	return rr.readData(req, int(vlen))
}

// parseDelete: delete <key> [0] [noreply]. memcached still takes the legacy
// hold time when it is "0" and rejects any other.
func (rr *RequestReader) parseDelete(req *Request) error {
	t := req.tokens
	if len(t) < 2 || len(t) > 4 {
		return reject(req.Command, ReasonBadFormat, ReplyError, false)
	}
	if len(t) > 2 {
		zero := string(t[2]) == "0"
		if string(t[len(t)-1]) == "noreply" {
			req.NoReply = true
			req.strip = len(t) - 1
		}
		if !(len(t) == 3 && (zero || req.NoReply)) && !(len(t) == 4 && zero && req.NoReply) {
			return rejectQuiet(req, ReasonBadFormat, ReplyDeleteUsage)
		}
	}
	if reason := rr.checkKey(t[1]); reason != "" {
		return rejectQuiet(req, reason, ReplyBadFormat)
	}
	req.Keys = t[1:2]
	return nil
}

// parseArithmetic: incr|decr <key> <delta> [noreply].
func (rr *RequestReader) parseArithmetic(req *Request) error {
	return rr.parseKeyNumber(req, ReplyBadDelta, func(b []byte) (ok bool) {
		req.Delta, ok = parseUint64(b)
		return ok
	})
}

// parseTouch: touch <key> <exptime> [noreply].
func (rr *RequestReader) parseTouch(req *Request) error {
	return rr.parseKeyNumber(req, ReplyBadExptime, func(b []byte) (ok bool) {
		req.Exptime, ok = parseInt32(b)
		return ok
	})
}

// parseKeyNumber reads "<command> <key> <number> [noreply]", the shape
// incr, decr and touch share; set parses the number into req.
func (rr *RequestReader) parseKeyNumber(req *Request, badNumber string, set func([]byte) bool) error {
	t := req.tokens
	if len(t) != 3 && len(t) != 4 {
		return reject(req.Command, ReasonBadFormat, ReplyError, false)
	}
	rr.noreplyLast(req)
	if reason := rr.checkKey(t[1]); reason != "" {
		return rejectQuiet(req, reason, ReplyBadFormat)
	}
	if !set(t[2]) {
		return rejectQuiet(req, ReasonBadFormat, badNumber)
	}
	req.Keys = t[1:2]
	return nil
}

// parseVerbosity: verbosity <level> [noreply].
func (rr *RequestReader) parseVerbosity(req *Request) error {
	t := req.tokens
	if len(t) != 2 && len(t) != 3 {
		return reject(req.Command, ReasonBadFormat, ReplyError, false)
	}
	rr.noreplyLast(req)
	if _, ok := parseUint32(t[1]); !ok {
		return rejectQuiet(req, ReasonBadFormat, ReplyBadFormat)
	}
	req.Args = t[1:]
	return nil
}

// parseFlushAll: flush_all [delay] [noreply].
func (rr *RequestReader) parseFlushAll(req *Request) error {
	t := req.tokens
	if len(t) > 3 {
		return reject(req.Command, ReasonBadFormat, ReplyError, false)
	}
	rr.noreplyLast(req)
	plain := 1
	if req.NoReply {
		plain = 2
	}
	if len(t) != plain {
		exp, ok := parseInt32(t[1])
		if !ok {
			return rejectQuiet(req, ReasonBadFormat, ReplyBadExptime)
		}
		req.Exptime = exp
	}
	req.Args = t[1:]
	return nil
}

// noreplyLast is memcached's set_noreply_maybe: the request is noreply when
// its last token is "noreply".
func (rr *RequestReader) noreplyLast(req *Request) {
	if t := req.tokens; len(t) > 1 && string(t[len(t)-1]) == "noreply" {
		req.NoReply = true
		req.strip = len(t) - 1
	}
}
