package memcacheproxy

import (
	"bufio"
	"bytes"
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

// client is one client connection, served by its loop: the loop reads and
// dispatches; whichever goroutine finishes the request at the head of the
// queue (the loop for a local reply, a server connection's reader
// otherwise) writes the responses that are ready.
type client struct {
	p  *Proxy
	l  *loop
	fd int
	id uint32

	// The loop's alone.
	in      []byte
	src     sliceSource
	br      *bufio.Reader
	rr      *protocol.RequestReader
	req     protocol.Request
	reading bool // false for good after quit, EOF or a drain
	dirty   bool // in the loop's list of clients to flush
	maxIn   int
	skip    int             // bytes of a rejected request's data left to skip
	skipped *protocol.Error // that request's error, answered once skipped
	tail    [2]byte         // the last two bytes skipped

	mu       sync.Mutex // the output side, and what the socket is polled for
	q        []*pending
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
	c.br = bufio.NewReaderSize(&c.src, 4096)
	c.rr = protocol.NewRequestReader(c.br, p.cfg.Limits)
	c.rr.DeferSwallow = true
	return c
}

// errNeedMore ends a parse that ran out of buffered input: the request is
// parsed again from its start once more has arrived.
var errNeedMore = errors.New("need more input")

// sliceSource is the parser's input: what the loop has read and not yet
// parsed.
type sliceSource struct {
	b   []byte
	pos int
}

func (s *sliceSource) Read(p []byte) (int, error) {
	if s.pos == len(s.b) {
		return 0, errNeedMore
	}
	n := copy(p, s.b[s.pos:])
	s.pos += n
	return n, nil
}

// readable reads what the socket has (one read: the poll is level
// triggered, so what is left is reported again) and dispatches every whole
// request in it.
func (c *client) readable() {
	c.mu.Lock()
	closed, paused := c.closed, c.paused
	c.mu.Unlock()
	if closed {
		c.release()
		return
	}
	if !c.reading || paused {
		return
	}
	if len(c.in) == cap(c.in) {
		if cap(c.in) >= c.maxIn {
			// One request larger than any the limits allow: a value far
			// over the item size. memcached would skip it; buffering it is
			// what the limit forbids.
			c.reject(protocol.ReplyTooLarge)
			return
		}
		n := make([]byte, len(c.in), min(max(2*cap(c.in), readChunk), c.maxIn))
		copy(n, c.in)
		c.in = n
	}
	n, err := syscall.Read(c.fd, c.in[len(c.in):cap(c.in)])
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
	c.in = c.in[:len(c.in)+n]
	c.parse()
}

// parse dispatches the whole requests at the start of c.in.
func (c *client) parse() {
	off := 0
	for off < len(c.in) && c.reading {
		if c.skip > 0 {
			n := min(c.skip, len(c.in)-off)
			c.skipTail(c.in[off : off+n])
			off += n
			if c.skip -= n; c.skip > 0 {
				break
			}
			c.skipped.Swallowed(c.tail)
			c.rejected(c.skipped)
			c.skipped = nil
			continue
		}
		c.src = sliceSource{b: c.in[off:]}
		c.br.Reset(&c.src)
		err := c.rr.Read(&c.req)
		if errors.Is(err, errNeedMore) {
			break
		}
		off += c.src.pos - c.br.Buffered()
		var perr *protocol.Error
		switch {
		case errors.As(err, &perr) && perr.Skip > 0:
			c.p.m.reject(perr.Reason)
			e := *perr
			e.Invalidate = bytes.Clone(e.Invalidate) // aliases the reader's buffer
			c.skipped, c.skip = &e, e.Skip
		case errors.As(err, &perr):
			c.p.m.reject(perr.Reason)
			c.rejected(perr)
		case err != nil:
			c.shut()
			return
		default:
			c.enqueue(c.dispatch(&c.req))
		}
	}
	rest := copy(c.in, c.in[off:])
	c.in = c.in[:rest]
	if rest == 0 && cap(c.in) > keepBuffer {
		c.in = nil
	}
	c.flush()
}

// skipTail keeps the last two bytes of what is skipped.
func (c *client) skipTail(b []byte) {
	switch len(b) {
	case 0:
	case 1:
		c.tail = [2]byte{c.tail[1], b[0]}
	default:
		c.tail = [2]byte{b[len(b)-2], b[len(b)-1]}
	}
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
	c.q = append(c.q, pd)
	if len(c.q) >= maxPending && !c.paused {
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
	for len(c.q) > 0 && c.q[0].remaining.Load() == 0 {
		pd := c.q[0]
		c.q[0] = nil
		c.q = c.q[1:]
		c.out = appendResponse(c.out, pd)
		if pd.quit {
			c.quitting = true
		}
		pd.release()
	}
	if len(c.q) == 0 {
		c.q = c.q[:0:0]
	}
	c.writeLocked()
	if !c.closed && c.quitting && len(c.q) == 0 && len(c.out) == 0 {
		c.closeLocked()
	}
	if c.paused && len(c.q) < maxPending/2 {
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
	if !c.closed && c.quitting && len(c.q) == 0 && len(c.out) == 0 {
		c.closeLocked()
	}
}

// closeLocked stops all output and shuts the socket down, which the loop
// sees as a hang-up and answers by releasing it. c.mu held. The socket is
// closed by the loop alone, so that no other goroutine can touch a
// descriptor number the kernel has given to a new connection.
func (c *client) closeLocked() {
	c.closed = true
	c.q, c.out = nil, nil
	syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
}

// stopReading answers what was asked and then closes; the loop's.
func (c *client) stopReading() {
	c.noInput()
	c.mu.Lock()
	c.quitting = true
	if !c.closed && len(c.q) == 0 && len(c.out) == 0 {
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
