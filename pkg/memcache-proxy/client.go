package memcacheproxy

import (
	"errors"
	"sync"
	"syscall"

	"github.com/podkit/podkit/pkg/memcache-proxy/protocol"
)

// maxPending bounds the requests one client may have in flight: past it, its
// loop stops reading it until responses go out.
const maxPending = 256

// Buffer bounds of a client connection. Input is read into a buffer that
// grows to hold one whole request (up to the item size limit) and shrinks
// back once it is idle; output the same.
const (
	readChunk  = 16 << 10
	keepBuffer = 64 << 10
)

// client is one client connection, served by its loop: the loop reads,
// dispatches, and writes the responses that are ready at the end of each
// event batch. With TLS servers, whose connections have goroutines of their
// own, the goroutine that finishes the request at the head of the queue
// writes instead; the output side has a lock for that.
type client struct {
	p  *Proxy
	l  *loop
	fd int
	id uint32

	// The loop's alone.
	ib      *inbox
	reading bool // false for good after quit, EOF or a drain
	dirty   bool // in the loop's list of clients to flush
	maxIn   int

	mu       sync.Mutex // the output side, and what the socket is polled for
	q        fifo[pending]
	out      []byte
	inOff    bool // reading is false
	paused   bool // back-pressure: too many requests in flight
	wantOut  bool // EPOLLOUT armed: the loop writes the rest
	quitting bool // close once q and out are empty
	closed   bool // no more writes; the loop releases the socket
	released bool
}

func newClient(p *Proxy, l *loop, fd int) *client {
	c := &client{p: p, l: l, fd: fd, id: newID(), reading: true}
	lim := p.cfg.Limits.WithDefaults()
	c.maxIn = lim.MaxItemSize + lim.MaxGetLine + readChunk
	c.ib = newInbox(p.cfg.Limits)
	return c
}

// readable reads what the socket has (one read: the poll is level
// triggered, so what is left is reported again) and dispatches every whole
// request in it.
func (c *client) readable(hup bool) {
	c.mu.Lock()
	closed, paused := c.closed, c.paused
	c.mu.Unlock()
	if closed {
		c.release()
		return
	}
	if hup && (!c.reading || paused) {
		// The peer is gone while input is not polled: its hang-up would
		// be reported again and again until its answers were out.
		c.shut()
		return
	}
	if !c.reading || paused {
		return
	}
	buf := c.ib.space(c.maxIn)
	if buf == nil {
		// One request larger than any the limits allow: a value far
		// over the item size that is not being skipped. Buffering it is
		// what the limit forbids.
		c.reject(protocol.ReplyTooLarge)
		return
	}
	n, err := syscall.Read(c.fd, buf)
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return
	case err != nil:
		c.shut()
		return
	case n == 0:
		c.stopReading() // answer what was asked, then close
		return
	}
	c.ib.add(n)
	c.parse()
}

// parse dispatches the whole requests that have arrived.
func (c *client) parse() {
	for c.reading {
		req, perr, err := c.ib.next()
		switch {
		case errors.Is(err, errNeedMore):
		case err != nil:
			c.shut()
			return
		case perr != nil:
			c.p.m.reject(perr.Reason)
			c.rejected(perr)
			continue
		default:
			c.enqueue(c.dispatch(req))
			continue
		}
		break
	}
	c.ib.compact()
	c.flush()
}

// rejected answers a request the parser rejected. A too-large set also
// drops the key's old value on its server, as memcached does.
func (c *client) rejected(perr *protocol.Error) {
	pd := localReply(perr.Reply, perr.Close)
	if perr.Invalidate != nil {
		st := c.p.st.Load()
		if s, err := st.pick(perr.Invalidate); err == nil {
			r := newBereq(protocol.CmdMetaDelete)
			r.buf = protocol.AppendInvalidate(r.buf, perr.Invalidate)
			r.drop = true
			pd.st, pd.parts = st, append(pd.parts, part{s, r})
		}
	}
	c.enqueue(pd)
}

// enqueue puts pd in the response order and sends its parts.
func (c *client) enqueue(pd *pending) {
	pd.c = c
	pd.remaining.Store(int32(len(pd.parts)))
	c.mu.Lock()
	c.q.push(pd)
	if c.q.len() >= maxPending && !c.paused {
		c.paused = true
		c.rearm()
	}
	c.mu.Unlock()
	if pd.quit {
		c.noInput()
	}
	for _, pt := range pd.parts {
		pt.req.pd = pd
		pd.st.backends[pt.server].send(pt.req)
	}
}

// noInput ends reading for good; the loop's.
func (c *client) noInput() {
	if !c.reading {
		return
	}
	c.reading = false
	c.mu.Lock()
	c.inOff = true
	c.rearm()
	c.mu.Unlock()
}

// rearm sets what the socket is polled for; c.mu held.
func (c *client) rearm() {
	if !c.closed {
		c.l.watch(c, !c.inOff && !c.paused, c.wantOut)
	}
}

// flush writes the responses that are ready, in order.
func (c *client) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	for c.q.len() > 0 && c.q.head().remaining.Load() == 0 {
		pd := c.q.head()
		c.q.pop()
		c.out = appendResponse(c.out, pd)
		if pd.quit {
			c.quitting = true
		}
		pd.release()
	}
	c.writeLocked()
	if !c.closed && c.quitting && c.q.len() == 0 && len(c.out) == 0 {
		c.closeLocked()
	}
	if c.paused && c.q.len() < maxPending/2 {
		c.paused = false
		c.rearm()
	}
}

// writeLocked writes c.out without blocking; what the socket does not take
// waits for EPOLLOUT. c.mu held.
func (c *client) writeLocked() {
	for len(c.out) > 0 && !c.wantOut {
		n, err := syscall.Write(c.fd, c.out)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			c.wantOut = true
			c.rearm()
			return
		case err != nil:
			c.closeLocked()
			return
		}
		rest := copy(c.out, c.out[n:])
		c.out = c.out[:rest]
	}
	if len(c.out) == 0 && cap(c.out) > keepBuffer {
		c.out = nil
	}
}

// writable is the loop's EPOLLOUT.
func (c *client) writable() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.wantOut = false
	c.writeLocked()
	if !c.wantOut {
		c.rearm()
	}
	if !c.closed && c.quitting && c.q.len() == 0 && len(c.out) == 0 {
		c.closeLocked()
	}
}

// closeLocked stops all output and shuts the socket down, which the loop
// sees as a hang-up and answers by releasing it. c.mu held. The socket is
// closed by the loop alone, so that no other goroutine can touch a
// descriptor number the kernel has given to a new connection.
func (c *client) closeLocked() {
	c.closed = true
	c.q.take()
	c.out = nil
	syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
}

// stopReading answers what was asked and then closes; the loop's.
func (c *client) stopReading() {
	c.noInput()
	c.mu.Lock()
	c.quitting = true
	if !c.closed && c.q.len() == 0 && len(c.out) == 0 {
		c.closeLocked()
	}
	c.mu.Unlock()
}

// reject answers a last error and closes; the loop's.
func (c *client) reject(reply string) {
	c.enqueue(localReply(reply, true))
	c.flush()
}

// shut closes now; the loop's.
func (c *client) shut() {
	c.reading = false
	c.mu.Lock()
	c.inOff = true
	if !c.closed {
		c.closeLocked()
	}
	c.mu.Unlock()
	c.release()
}

// release closes the socket and forgets the client; the loop's, once.
func (c *client) release() {
	c.mu.Lock()
	if c.released {
		c.mu.Unlock()
		return
	}
	c.released = true
	c.mu.Unlock()
	syscall.Close(c.fd)
	c.l.forget(c.id)
	c.p.clients.Add(-1)
	c.p.m.clients.Dec()
}
