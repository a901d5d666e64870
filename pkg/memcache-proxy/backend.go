package memcacheproxy

import (
	"bufio"
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/podkit/podkit/pkg/memcache-proxy/protocol"
	"github.com/podkit/podkit/pkg/memcache-proxy/twemconf"
)

// item is one VALUE of a retrieval answer, as the server sent it.
type item struct {
	key string
	raw []byte
}

// bereq is one request forwarded to one server. It gets exactly one response
// unit (it is written with AppendRequest's withReply), or an error.
type bereq struct {
	cmd   protocol.Command
	buf   []byte // the request as the server receives it
	drop  bool   // NoReply: the client sees nothing
	quiet bool   // meta q: drop what HiddenByQuiet reports

	// Filled in before done is closed.
	out   []byte // non-retrieval: the reply bytes the client sees
	items []item // retrieval: the VALUE items in the server's order
	err   error
	done  chan struct{}
}

func newBereq(cmd protocol.Command, buf []byte) *bereq {
	return &bereq{cmd: cmd, buf: buf, done: make(chan struct{})}
}

func (r *bereq) finish(err error) {
	r.err = err
	close(r.done)
}

// backend is one memcached server of the pool: a few connections shared by
// every client, picked round-robin.
type backend struct {
	srv     twemconf.Server
	timeout time.Duration
	lim     protocol.Limits
	conns   []*backendConn
	mu      sync.Mutex
	next    int
}

func newBackend(srv twemconf.Server, n int, timeout time.Duration, lim protocol.Limits) *backend {
	if n < 1 {
		n = 1
	}
	b := &backend{srv: srv, timeout: timeout, lim: lim}
	for i := 0; i < n; i++ {
		b.conns = append(b.conns, &backendConn{b: b})
	}
	return b
}

// send forwards r on one of b's connections; r.done is closed when it is
// answered or failed.
func (b *backend) send(r *bereq) {
	b.mu.Lock()
	c := b.conns[b.next]
	b.next = (b.next + 1) % len(b.conns)
	b.mu.Unlock()
	c.send(r)
}

func (b *backend) close() {
	for _, c := range b.conns {
		c.close()
	}
}

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
}

var errProxyClosed = errors.New("proxy shutting down")

func (c *backendConn) send(r *bereq) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		r.finish(errProxyClosed)
		return
	}
	g := c.gen
	if g == nil {
		d := net.Dialer{Timeout: c.b.timeout}
		conn, err := d.Dial(c.b.srv.Network(), c.b.srv.Addr())
		if err != nil {
			c.mu.Unlock()
			r.finish(err)
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		g = &generation{conn: conn, wake: make(chan struct{}, 1)}
		c.gen = g
		go c.readLoop(g)
	}
	if !g.push(r) {
		c.mu.Unlock()
		return
	}
	if c.b.timeout > 0 {
		g.conn.SetWriteDeadline(time.Now().Add(c.b.timeout))
	}
	_, err := g.conn.Write(r.buf)
	c.mu.Unlock()
	if err != nil {
		c.fail(g, err)
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
	g.mu.Unlock()
}

// fail closes g's connection and fails every request waiting on it, so the
// next request dials afresh.
func (c *backendConn) fail(g *generation, err error) {
	g.conn.Close() // first: unblocks a writer holding c.mu
	g.mu.Lock()
	if g.failed {
		g.mu.Unlock()
		return
	}
	g.failed, g.err = true, err
	q := g.q
	g.q = nil
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
	for _, r := range q {
		r.finish(err)
	}
	c.mu.Lock()
	if c.gen == g {
		c.gen = nil
	}
	c.mu.Unlock()
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

var errOutOfSync = errors.New("bad response from server")

func (c *backendConn) readLoop(g *generation) {
	rr := protocol.NewResponseReader(bufio.NewReader(g.conn), c.b.lim)
	var resp protocol.Response
	for {
		r := g.head()
		if r == nil {
			return
		}
		// The timeout runs from when this request reaches the head of the
		// queue (twemproxy: from when it was sent); a pipelined request
		// behind a slow one is not failed early.
		if c.b.timeout > 0 {
			g.conn.SetReadDeadline(time.Now().Add(c.b.timeout))
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
			switch {
			case r.cmd.IsRetrieval():
				if resp.Status == protocol.StatusValue {
					r.items = append(r.items, item{string(resp.Key), protocol.AppendResponse(nil, &resp)})
				} else if resp.Status.IsError() {
					r.out = protocol.AppendResponse(r.out, &resp)
				}
			case r.drop:
			case r.quiet && resp.HiddenByQuiet(r.cmd):
			default:
				r.out = protocol.AppendResponse(r.out, &resp)
			}
		}
		g.pop()
		r.finish(nil)
	}
}

// errorText is the SERVER_ERROR message for a failed request, in the errno
// words twemproxy uses.
func errorText(err error) string {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "Connection timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "Connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "Connection reset by peer"
	case errors.Is(err, errProxyClosed), errors.Is(err, errOutOfSync):
		return err.Error()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "Connection timed out"
	}
	return "Connection closed"
}
