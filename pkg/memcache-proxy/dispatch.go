package memcacheproxy

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/podkit/podkit/pkg/memcache-proxy/protocol"
)

// pending is one client request's place in the response order.
type pending struct {
	c         *client
	remaining atomic.Int32 // parts not finished yet
	st        *state       // the routing snapshot the request was dispatched by
	out       []byte       // a local reply, or the fixed part before parts
	parts     []part       // forwarded pieces, nil for a local reply
	keyBuf    []byte       // retrieval: the client's keys, end to end
	keys      []keyRef     // retrieval: each key in keyBuf, and its server
	quit      bool         // close after out
	end       bool         // retrieval: merge parts and end with END
}

// keyRef is one key of a retrieval: where it ends in keyBuf (it starts
// where the previous one ends), and its server (-1: a fail-fast miss).
type keyRef struct {
	end, server int32
}

// part is one piece of a request sent to one server.
type part struct {
	server int
	req    *bereq
}

// dispatch turns a parsed request into its pending answer: a local reply,
// or the requests to send to servers (the caller queues pd, then sends).
func (c *client) dispatch(req *protocol.Request) *pending {
	cmd := req.Command
	c.p.m.commands[cmd].Inc()
	switch {
	case cmd.Local():
		return c.local(req)
	case cmd.Keyed():
		st := c.p.st.Load()
		s, err := st.pick(req.Keys[0])
		if err != nil {
			return c.unrouted(st, s, err, req.NoReply)
		}
		r := newBereq(cmd)
		r.buf = protocol.AppendRequest(r.buf, req, true)
		r.drop, r.quiet = req.NoReply, req.Quiet
		pd := newPending()
		pd.st, pd.parts = st, append(pd.parts, part{s, r})
		return pd
	case cmd.IsRetrieval():
		return c.retrieval(req)
	}
	return localReply(protocol.ReplyError, false)
}

// unrouted answers a request whose key has no server in service.
func (c *client) unrouted(st *state, s int, err error, noreply bool) *pending {
	if s >= 0 {
		st.backends[s].sm.errors[reasonEjected].Inc()
	}
	pd := newPending()
	if !noreply {
		pd.out = protocol.AppendServerError(pd.out, errorText(err))
	}
	return pd
}

func (c *client) retrieval(req *protocol.Request) *pending {
	st := c.p.st.Load()
	if len(req.Keys) == 0 {
		return localReply(protocol.ReplyEnd, false)
	}
	pd := newPending()
	pd.st, pd.end = st, true
	pd.keys = slices.Grow(pd.keys[:0], len(req.Keys))[:len(req.Keys)]
	size := 0
	for _, k := range req.Keys {
		size += len(k)
	}
	pd.keyBuf = slices.Grow(pd.keyBuf[:0], size)
	var countBuf [16]int32
	var count []int32 // per server: its keys; on the stack for small pools
	if n := len(st.backends); n <= len(countBuf) {
		count = countBuf[:n]
	} else {
		count = make([]int32, n)
	}
	for i, k := range req.Keys {
		pd.keyBuf = append(pd.keyBuf, k...)
		pd.keys[i].end = int32(len(pd.keyBuf))
		s, err := st.pick(k)
		if errors.Is(err, errEjected) {
			// Fail-fast: the key is a miss.
			st.backends[s].sm.errors[reasonEjected].Inc()
			pd.keys[i].server = -1
			continue
		} else if err != nil {
			pd.release()
			return c.unrouted(st, s, err, false)
		}
		pd.keys[i].server = int32(s)
		count[s]++
	}
	servers := 0
	for _, n := range count {
		if n > 0 {
			servers++
		}
	}
	pd.parts = slices.Grow(pd.parts[:0], servers)
	for s, n := range count {
		if n == 0 {
			continue
		}
		if req.Command == protocol.CmdGat || req.Command == protocol.CmdGats {
			pd.parts = c.touchParts(pd, req, s, int(n))
			continue
		}
		// get and gets: one request per server, however long (memcached
		// takes any number of keys on a get line).
		r := newBereq(req.Command)
		buf := slices.Grow(r.buf, len(req.Command.String())+int(n)+size+2)
		buf = append(buf, req.Command.String()...)
		for i := range pd.keys {
			if pd.keys[i].server == int32(s) {
				buf = append(buf, ' ')
				buf = append(buf, pd.key(i)...)
			}
		}
		r.buf = append(buf, "\r\n"...)
		pd.parts = append(pd.parts, part{s, r})
	}
	if len(pd.parts) == 1 {
		// One server answers in the client's key order: pass it through.
		pd.parts[0].req.whole = true
	}
	return pd
}

// key is the i-th key of a retrieval.
func (pd *pending) key(i int) []byte {
	start := int32(0)
	if i > 0 {
		start = pd.keys[i-1].end
	}
	return pd.keyBuf[start:pd.keys[i].end]
}

// touchParts appends server s's parts of a gat or gats, split so that no
// line exceeds what memcached reads (its keys are the n with server s).
func (c *client) touchParts(pd *pending, req *protocol.Request, s, n int) []part {
	keys := make([][]byte, 0, n)
	for i := range pd.keys {
		if pd.keys[i].server == int32(s) {
			keys = append(keys, pd.key(i))
		}
	}
	for len(keys) > 0 {
		m := protocol.FitKeys(req.Command, req.Exptime, keys, protocol.BackendMaxLine)
		r := newBereq(req.Command)
		r.buf = protocol.AppendGet(r.buf, req.Command, req.Exptime, keys[:m])
		pd.parts = append(pd.parts, part{s, r})
		keys = keys[m:]
	}
	return pd.parts
}

func (c *client) local(req *protocol.Request) *pending {
	var out []byte
	switch req.Command {
	case protocol.CmdVersion:
		out = protocol.AppendVersion(nil, Version)
	case protocol.CmdQuit:
		return localReply("", true)
	case protocol.CmdMetaNoop:
		out = []byte(protocol.ReplyMetaNoop)
	case protocol.CmdVerbosity:
		if !req.NoReply {
			out = []byte(protocol.ReplyOK)
		}
	case protocol.CmdFlushAll:
		if !req.NoReply {
			out = []byte(protocol.ReplyFlushAllDisabled)
		}
	case protocol.CmdStats:
		if len(req.Args) > 0 {
			// stats <group>: not kept by the proxy.
			out = []byte(protocol.ReplyError)
			break
		}
		now := time.Now()
		out = protocol.AppendStat(out, "pid", strconv.Itoa(os.Getpid()))
		out = protocol.AppendStat(out, "uptime", strconv.FormatInt(int64(now.Sub(c.p.start)/time.Second), 10))
		out = protocol.AppendStat(out, "time", strconv.FormatInt(now.Unix(), 10))
		out = protocol.AppendStat(out, "version", Version)
		out = protocol.AppendStat(out, "curr_connections", strconv.FormatInt(c.p.clients.Load(), 10))
		out = protocol.AppendStat(out, "servers", strconv.Itoa(len(c.p.st.Load().backends)))
		out = append(out, protocol.ReplyEnd...)
	default:
		out = []byte(protocol.ReplyError)
	}
	pd := newPending()
	pd.out = append(pd.out, out...)
	return pd
}

// appendResponse appends what the client sees of pd, whose parts are all
// finished.
func appendResponse(out []byte, pd *pending) []byte {
	if !pd.end {
		out = append(out, pd.out...)
		for _, pt := range pd.parts {
			if pt.req.err != nil {
				if pt.req.drop {
					continue
				}
				return protocol.AppendServerError(out, errorText(pt.req.err))
			}
			out = append(out, pt.req.out...)
		}
		return out
	}
	// Retrieval: any failed part fails the whole request.
	if len(pd.parts) == 1 && pd.parts[0].req.whole {
		r := pd.parts[0].req
		if r.err != nil {
			return protocol.AppendServerError(out, errorText(r.err))
		}
		return append(out, r.out...)
	}
	for _, pt := range pd.parts {
		if pt.req.err != nil {
			return protocol.AppendServerError(out, errorText(pt.req.err))
		}
		if len(pt.req.eout) > 0 {
			return append(out, pt.req.eout...)
		}
	}
	// A server's hits, over its parts in order, come in the client's order
	// of its keys; walk the keys and take each server's next hit when it is
	// that key. Each server's parts are consecutive in pd.parts.
	var cursorBuf [16]cursor
	var cur []cursor
	if n := len(pd.st.backends); n <= len(cursorBuf) {
		cur = cursorBuf[:n]
	} else {
		cur = make([]cursor, n)
	}
	for i := len(pd.parts) - 1; i >= 0; i-- {
		cur[pd.parts[i].server].part = i
	}
	for i := range pd.keys {
		s := pd.keys[i].server
		if s < 0 {
			continue
		}
		k := &cur[s]
		for {
			r := pd.parts[k.part].req
			if k.span < len(r.spans) {
				sp := r.spans[k.span]
				if key := r.out[sp.start+valueKeyOffset : sp.start+valueKeyOffset+sp.klen]; bytes.Equal(key, pd.key(i)) {
					out = append(out, r.out[sp.start:sp.end]...)
					k.span++
				}
				break
			}
			// This part is used up: the server's next one, if any.
			if k.part+1 < len(pd.parts) && pd.parts[k.part+1].server == int(s) {
				k.part, k.span = k.part+1, 0
				continue
			}
			break
		}
	}
	return append(out, protocol.ReplyEnd...)
}

// cursor walks one server's hits during a merge.
type cursor struct{ part, span int }
