package memcacheproxy

import (
	"bufio"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/podkit/podkit/pkg/memcache-proxy/protocol"
)

// TLS servers are not driven by the loops (crypto/tls wants a net.Conn):
// each of their connections has a writer and a reader goroutine, and a
// finished request tells its client from there.

// backendConn is one connection to a server, redialled after a failure.
// Requests are written in order and their waiters queued FIFO; a reader
// goroutine answers them in the same order.
type backendConn struct {
	b      *backend
	mu     sync.Mutex // serializes dial and write; guards gen, closed
	gen    *generation
	closed bool
}

// generation is one dialled connection and the requests waiting on it.
type generation struct {
	conn   net.Conn
	mu     sync.Mutex
	q      []*bereq
	failed bool
	err    error
	wake   chan struct{} // capacity 1

	// Requests to write, guarded by the backendConn's mu (see writeLoop).
	wbuf, spare []byte
	writing     bool          // writeLoop has been told
	flush       chan struct{} // capacity 1: wakes writeLoop
	dead        chan struct{} // closed by fail
}

// maxSpare bounds the write buffer kept between batches: a burst's larger
// buffer goes back to the heap.
const maxSpare = 64 << 10

// dialLocked connects c; c.mu is held.
func (c *backendConn) dialLocked() (*generation, error) {
	conn, err := c.b.dialer.dial(c.b.srv)
	if err != nil {
		return nil, err
	}
	g := &generation{conn: conn, wake: make(chan struct{}, 1), flush: make(chan struct{}, 1), dead: make(chan struct{})}
	c.gen = g
	go c.readLoop(g)
	go c.writeLoop(g)
	return g, nil
}

func (c *backendConn) send(r *bereq) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		r.finish(errProxyClosed)
		return
	}
	g := c.gen
	if g == nil {
		var err error
		if g, err = c.dialLocked(); err != nil {
			c.mu.Unlock()
			c.b.failed(err)
			r.finish(err)
			return
		}
	}
	// r.buf is copied before r is queued: once queued, the reader may
	// fail r and its client recycle it.
	n := len(g.wbuf)
	g.wbuf = append(g.wbuf, r.buf...)
	if !g.push(r) {
		g.wbuf = g.wbuf[:n]
		c.mu.Unlock()
		return
	}
	kick := !g.writing
	g.writing = true
	c.mu.Unlock()
	if kick {
		g.flush <- struct{}{}
	}
}

// writeLoop writes g's queued requests, a batch per write(2): requests
// that arrive while it waits for the CPU or for a write join the next
// batch, as in an event loop (twemproxy's), so a busy server connection
// takes one system call for many clients' requests.
func (c *backendConn) writeLoop(g *generation) {
	for {
		select {
		case <-g.flush:
		case <-g.dead:
			return
		}
		// Let the client goroutines the poller just woke add theirs.
		runtime.Gosched()
		for {
			c.mu.Lock()
			buf := g.wbuf
			if len(buf) == 0 {
				g.writing = false
				c.mu.Unlock()
				break
			}
			g.wbuf = g.spare[:0]
			g.spare = nil
			c.mu.Unlock()
			if c.b.timeout > 0 {
				g.conn.SetWriteDeadline(time.Now().Add(c.b.timeout))
			}
			if _, err := g.conn.Write(buf); err != nil {
				c.fail(g, err)
				return
			}
			c.mu.Lock()
			if cap(buf) <= maxSpare {
				g.spare = buf[:0]
			}
			c.mu.Unlock()
		}
	}
}

// push queues r on g, or fails it if g has failed already.
func (g *generation) push(r *bereq) bool {
	g.mu.Lock()
	if g.failed {
		err := g.err
		g.mu.Unlock()
		r.finish(err)
		return false
	}
	g.q = append(g.q, r)
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
	return true
}

// head returns the oldest waiting request, blocking until there is one;
// nil once g has failed.
func (g *generation) head() *bereq {
	for {
		g.mu.Lock()
		if g.failed {
			g.mu.Unlock()
			return nil
		}
		if len(g.q) > 0 {
			r := g.q[0]
			g.mu.Unlock()
			return r
		}
		g.mu.Unlock()
		<-g.wake
	}
}

func (g *generation) pop() {
	g.mu.Lock()
	g.q[0] = nil
	g.q = g.q[1:]
	if len(g.q) == 0 {
		g.q = g.q[:0:0] // let a burst's backing array go
	}
	g.mu.Unlock()
}

// fail closes g's connection, so the next request dials afresh; the reader
// then fails every request waiting on it. It counts once against the
// server's health. Only the reader finishes g's requests: it may be in the
// middle of one's answer.
func (c *backendConn) fail(g *generation, err error) {
	g.conn.Close() // first: unblocks a writer holding c.mu, and the reader
	g.mu.Lock()
	if g.failed {
		g.mu.Unlock()
		return
	}
	g.failed, g.err = true, err
	close(g.dead)
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
	c.mu.Lock()
	if c.gen == g {
		c.gen = nil
	}
	c.mu.Unlock()
	c.b.failed(err)
}

// drain fails what is still queued on a failed g; the reader's.
func (g *generation) drain() {
	g.mu.Lock()
	q, err := g.q, g.err
	g.q = nil
	g.mu.Unlock()
	for _, r := range q {
		r.finish(err)
	}
}

func (c *backendConn) close() {
	c.mu.Lock()
	c.closed = true
	g := c.gen
	c.mu.Unlock()
	if g != nil {
		c.fail(g, errProxyClosed)
	}
}

func (c *backendConn) readLoop(g *generation) {
	defer g.drain()
	rr := protocol.NewResponseReader(bufio.NewReaderSize(g.conn, 32<<10), c.b.lim)
	var resp protocol.Response
	for {
		r := g.head()
		if r == nil {
			return
		}
		// The timeout runs from when the request was sent, as in
		// twemproxy: a request queued behind a slow one is not given more.
		if c.b.timeout > 0 {
			g.conn.SetReadDeadline(r.sent.Add(c.b.timeout))
		}
		for done := false; !done; {
			if err := rr.Read(&resp); err != nil {
				c.fail(g, err)
				return
			}
			var ok bool
			if done, ok = resp.Ends(r.cmd); !ok {
				c.fail(g, errOutOfSync)
				return
			}
			r.take(&resp)
		}
		g.pop()
		c.b.succeeded()
		r.finish(nil)
	}
}
