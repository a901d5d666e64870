package memcacheproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/podkit/podkit/pkg/memcache-proxy/protocol"
)

// maxPending bounds the requests one client may have in flight; its reader
// waits beyond that.
const maxPending = 256

// client is one client connection: a reader goroutine parses and dispatches
// requests, the serve goroutine writes their responses in order.
type client struct {
	p       *Proxy
	conn    net.Conn
	pending chan *pending
}

// pending is one client request's place in the response order.
type pending struct {
	st    *state   // the routing snapshot the request was dispatched by
	out   []byte   // a local reply, or the fixed part before parts
	parts []*part  // forwarded pieces, nil for a local reply
	keys  []string // retrieval: the client's keys
	picks []int    // retrieval: each key's server (random distribution picks once)
	quit  bool     // close after out
	end   bool     // retrieval: merge parts and end with END
}

// part is one piece of a request sent to one server.
type part struct {
	server int
	req    *bereq
}

func newClient(p *Proxy, conn net.Conn) *client {
	return &client{p: p, conn: conn, pending: make(chan *pending, maxPending)}
}

// stopReading makes the reader see the end of the stream: pending responses
// still go out.
func (c *client) stopReading() {
	c.conn.SetReadDeadline(time.Now())
}

func (c *client) serve() {
	defer c.conn.Close()
	go c.readLoop()
	bw := bufio.NewWriter(c.conn)
	for pd := range c.pending {
		if _, err := bw.Write(c.response(pd)); err != nil {
			break
		}
		if len(c.pending) == 0 || pd.quit {
			if err := bw.Flush(); err != nil {
				break
			}
		}
		if pd.quit {
			break
		}
	}
	// Unblock the reader if it is still going, and drain.
	c.conn.Close()
	for range c.pending {
	}
}

// response waits for pd's parts and builds what the client sees.
func (c *client) response(pd *pending) []byte {
	for _, pt := range pd.parts {
		<-pt.req.done
	}
	if !pd.end {
		out := pd.out
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
			return protocol.AppendServerError(nil, errorText(r.err))
		}
		return r.out
	}
	for _, pt := range pd.parts {
		if pt.req.err != nil {
			return protocol.AppendServerError(nil, errorText(pt.req.err))
		}
		if len(pt.req.out) > 0 {
			return pt.req.out
		}
	}
	// Each server's items, concatenated over its parts in order, are its
	// hits in the client's order.
	n := len(pd.st.backends)
	items := make([][]item, n)
	for _, pt := range pd.parts {
		items[pt.server] = append(items[pt.server], pt.req.items...)
	}
	next := make([]int, n)
	var out []byte
	for i, k := range pd.keys {
		s := pd.picks[i]
		if s >= 0 && next[s] < len(items[s]) && items[s][next[s]].key == k {
			out = append(out, items[s][next[s]].raw...)
			next[s]++
		}
	}
	return append(out, protocol.ReplyEnd...)
}

func (c *client) readLoop() {
	defer close(c.pending)
	rr := protocol.NewRequestReader(bufio.NewReader(c.conn), c.p.cfg.Limits)
	var req protocol.Request
	for {
		err := rr.Read(&req)
		var perr *protocol.Error
		switch {
		case errors.As(err, &perr):
			c.p.m.reject(perr.Reason)
			pd := &pending{out: []byte(perr.Reply), quit: perr.Close}
			if perr.Invalidate != nil {
				st := c.p.st.Load()
				if s, err := st.pick(perr.Invalidate); err == nil {
					r := newBereq(protocol.CmdMetaDelete, protocol.AppendInvalidate(nil, perr.Invalidate))
					r.drop = true
					pd.parts = []*part{{s, r}}
					st.backends[s].send(r)
				}
			}
			c.pending <- pd
			if perr.Close {
				return
			}
			continue
		case err != nil:
			if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, net.ErrClosed) &&
				!errors.Is(err, io.EOF) {
				c.p.log.Debug("memcache-proxy: client read", "remote", c.conn.RemoteAddr().String(), "err", err)
			}
			return
		}
		pd := c.dispatch(&req)
		c.pending <- pd
		if pd.quit {
			return
		}
	}
}

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
		r := newBereq(cmd, protocol.AppendRequest(nil, req, true))
		r.drop, r.quiet = req.NoReply, req.Quiet
		st.backends[s].send(r)
		return &pending{parts: []*part{{s, r}}}
	case cmd.IsRetrieval():
		return c.retrieval(req)
	}
	return &pending{out: []byte(protocol.ReplyError)}
}

// unrouted answers a request whose key has no server in service.
func (c *client) unrouted(st *state, s int, err error, noreply bool) *pending {
	if s >= 0 {
		st.backends[s].sm.errors[reasonEjected].Inc()
	}
	if noreply {
		return &pending{}
	}
	return &pending{out: protocol.AppendServerError(nil, errorText(err))}
}

func (c *client) retrieval(req *protocol.Request) *pending {
	st := c.p.st.Load()
	pd := &pending{st: st, end: true, keys: make([]string, len(req.Keys)), picks: make([]int, len(req.Keys))}
	if len(req.Keys) == 0 {
		pd.end = false
		pd.out = []byte(protocol.ReplyEnd)
		return pd
	}
	per := make([][][]byte, len(st.backends))
	for i, k := range req.Keys {
		pd.keys[i] = string(k)
		s, err := st.pick(k)
		if errors.Is(err, errEjected) {
			// Fail-fast: the key is a miss.
			st.backends[s].sm.errors[reasonEjected].Inc()
			pd.picks[i] = -1
			continue
		} else if err != nil {
			return c.unrouted(st, s, err, false)
		}
		pd.picks[i] = s
		per[s] = append(per[s], k)
	}
	for s, keys := range per {
		for len(keys) > 0 {
			n := len(keys)
			if req.Command == protocol.CmdGat || req.Command == protocol.CmdGats {
				n = protocol.FitKeys(req.Command, req.Exptime, keys, protocol.BackendMaxLine)
			}
			r := newBereq(req.Command, protocol.AppendGet(nil, req.Command, req.Exptime, keys[:n]))
			pd.parts = append(pd.parts, &part{s, r})
			keys = keys[n:]
		}
	}
	if len(pd.parts) == 1 {
		// One server answers in the client's key order: pass it through.
		pd.parts[0].req.whole = true
	}
	// In parallel: each server's parts go out without waiting for others.
	for _, pt := range pd.parts {
		st.backends[pt.server].send(pt.req)
	}
	return pd
}

func (c *client) local(req *protocol.Request) *pending {
	var out []byte
	switch req.Command {
	case protocol.CmdVersion:
		out = protocol.AppendVersion(nil, Version)
	case protocol.CmdQuit:
		return &pending{quit: true}
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
	return &pending{out: out}
}
