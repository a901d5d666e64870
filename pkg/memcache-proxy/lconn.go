package memcacheproxy

import (
	"bufio"
	"errors"
	"net"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/podkit/podkit/pkg/memcache-proxy/protocol"
)

// loopBackend is one server's connections owned by one loop: its clients'
// requests to that server go out on them, and their answers come back in
// the same loop, so a request crosses no goroutine. Each loop has
// Pool.ServerConnections of them per server.
type loopBackend struct {
	b        *backend
	l        *loop
	conns    []*lconn
	retiring []*lconn // replaced after an address change, closed once answered
	next     int
	closed   bool
}

// lconn is a non-blocking server connection driven by its loop. Requests
// queue in wbuf and go out in one write at the end of the loop's event
// batch; answers are parsed as they arrive and matched to q in order.
type lconn struct {
	lb         *loopBackend
	id         uint32
	retiring   bool
	fd         int // -1: not connected
	connecting bool
	since      time.Time // when the connect started
	wantOut    bool
	polledOut  bool // EPOLLOUT is in the poll set
	dirty      bool // in the loop's list of connections to write

	q    fifo[bereq]
	wbuf []byte
	need int // the unit being read needs this many bytes (0: unknown)

	in   []byte
	src  sliceSource
	br   *bufio.Reader
	rr   *protocol.ResponseReader
	resp protocol.Response
}

func (l *loop) backendFor(b *backend) *loopBackend {
	lb := b.loops[l.idx]
	if lb == nil {
		lb = &loopBackend{b: b, l: l}
		for range max(b.nconns, 1) {
			lb.conns = append(lb.conns, lb.newConn())
		}
		b.loops[l.idx] = lb
		l.backends = append(l.backends, lb)
	}
	return lb
}

func (lb *loopBackend) newConn() *lconn {
	lc := &lconn{lb: lb, fd: -1}
	lc.br = bufio.NewReaderSize(&lc.src, 16<<10)
	lc.rr = protocol.NewResponseReader(lc.br, lb.b.lim)
	return lc
}

// each calls fn for every connection, retiring ones included.
func (lb *loopBackend) each(fn func(*lconn)) {
	for _, lc := range lb.conns {
		fn(lc)
	}
	for _, lc := range slices.Clone(lb.retiring) {
		fn(lc)
	}
}

// readdress replaces the connections to an address the host name no
// longer has: idle ones close now, busy ones once their requests are
// answered, and new requests dial the new address.
func (lb *loopBackend) readdress() {
	for i, lc := range lb.conns {
		switch {
		case lc.fd < 0:
		case lc.q.len() == 0 && len(lc.wbuf) == 0:
			lc.drop()
		default:
			lc.retiring = true
			lb.retiring = append(lb.retiring, lc)
			lb.conns[i] = lb.newConn()
		}
	}
}

// drop closes the connection without failing anything.
func (lc *lconn) drop() {
	if lc.fd >= 0 {
		syscall.Close(lc.fd)
		lc.lb.l.forget(lc.id)
		lc.fd = -1
	}
	lc.connecting, lc.wantOut = false, false
	lc.wbuf, lc.in, lc.need = nil, nil, 0
	if lc.retiring {
		lc.lb.retiring = slices.DeleteFunc(lc.lb.retiring, func(o *lconn) bool { return o == lc })
	}
}

// send queues r; the loop's.
func (lb *loopBackend) send(r *bereq) {
	if lb.closed {
		r.finish(errProxyClosed)
		return
	}
	lc := lb.conns[0]
	if len(lb.conns) > 1 {
		lc = lb.conns[lb.next]
		lb.next = (lb.next + 1) % len(lb.conns)
	}
	lc.send(r)
}

func (lc *lconn) send(r *bereq) {
	if lc.fd < 0 {
		if err := lc.dial(); err != nil {
			lc.lb.b.failed(err)
			r.finish(err)
			return
		}
	}
	r.inLoop = true
	lc.q.push(r)
	lc.wbuf = append(lc.wbuf, r.buf...)
	if !lc.dirty && !lc.connecting && !lc.wantOut {
		lc.dirty = true
		lc.lb.l.dirty = append(lc.lb.l.dirty, lc)
	}
}

var errNoAddress = errors.New("no address for the server's host name yet")

// dial starts a non-blocking connect.
func (lc *lconn) dial() error {
	b := lc.lb.b
	if lc.lb.closed || lc.lb.l.hasExited() {
		return errProxyClosed
	}
	sa, err := b.sockaddr()
	if err != nil {
		return err
	}
	family := syscall.AF_UNIX
	switch sa.(type) {
	case *syscall.SockaddrInet4:
		family = syscall.AF_INET
	case *syscall.SockaddrInet6:
		family = syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	if family != syscall.AF_UNIX {
		syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		if b.dialer.keepalive {
			syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1)
			syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, 15)
			syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, 15)
		}
	}
	err = syscall.Connect(fd, sa)
	switch {
	case err == nil:
	case err == syscall.EINPROGRESS:
		lc.connecting, lc.since = true, time.Now()
	default:
		syscall.Close(fd)
		return &net.OpError{Op: "dial", Net: b.srv.Network(), Err: os.NewSyscallError("connect", err)}
	}
	// A new id per socket: an event still pending for the last one must
	// not reach this one.
	lc.fd, lc.polledOut, lc.id = fd, lc.connecting, newID()
	if err := lc.lb.l.register(lc, lc.id, fd, true, lc.connecting); err != nil {
		syscall.Close(fd)
		lc.fd, lc.connecting = -1, false
		return err
	}
	return nil
}

// writable is EPOLLOUT: a connect finished, or the socket takes more.
func (lc *lconn) writable() {
	if lc.fd < 0 {
		return
	}
	if lc.connecting {
		lc.connecting = false
		errno, err := syscall.GetsockoptInt(lc.fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
		if err == nil && errno != 0 {
			err = &net.OpError{Op: "dial", Net: lc.lb.b.srv.Network(), Err: os.NewSyscallError("connect", syscall.Errno(errno))}
		}
		if err != nil {
			lc.fail(err)
			return
		}
	}
	lc.wantOut = false
	lc.write()
}

// write sends wbuf without blocking; the rest waits for EPOLLOUT.
func (lc *lconn) write() {
	lc.dirty = false
	for len(lc.wbuf) > 0 && lc.fd >= 0 && !lc.connecting {
		n, err := syscall.Write(lc.fd, lc.wbuf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			lc.wantOut = true
			lc.poll(true)
			return
		case err != nil:
			lc.fail(os.NewSyscallError("write", err))
			return
		}
		rest := copy(lc.wbuf, lc.wbuf[n:])
		lc.wbuf = lc.wbuf[:rest]
	}
	if cap(lc.wbuf) > keepBuffer {
		lc.wbuf = nil
	}
	if lc.fd >= 0 && !lc.connecting {
		lc.poll(false)
	}
}

// poll sets whether EPOLLOUT is polled for, if that changes.
func (lc *lconn) poll(out bool) {
	if lc.polledOut != out {
		lc.polledOut = out
		lc.lb.l.watchFd(lc.id, lc.fd, true, out)
	}
}

// readable reads what arrived and answers the requests it completes.
func (lc *lconn) readable(bool) {
	if lc.fd < 0 || lc.connecting {
		if lc.connecting {
			lc.writable() // an error shows as EPOLLERR|EPOLLHUP
		}
		return
	}
	maxIn := lc.lb.b.lim.MaxItemSize + protocol.BackendMaxLine + readChunk
	if len(lc.in) == cap(lc.in) {
		if cap(lc.in) >= maxIn {
			lc.fail(errOutOfSync)
			return
		}
		n := make([]byte, len(lc.in), min(max(2*cap(lc.in), readChunk), maxIn))
		copy(n, lc.in)
		lc.in = n
	}
	n, err := syscall.Read(lc.fd, lc.in[len(lc.in):cap(lc.in)])
	switch {
	case err == syscall.EAGAIN || err == syscall.EINTR:
		return
	case err != nil:
		lc.fail(os.NewSyscallError("read", err))
		return
	case n == 0:
		lc.fail(errServerClosed)
		return
	}
	lc.in = lc.in[:len(lc.in)+n]
	off := 0
	for off < len(lc.in) {
		if lc.q.len() == 0 {
			lc.fail(errOutOfSync) // an answer nobody asked for
			return
		}
		r := lc.q.head()
		if len(lc.in)-off < lc.need {
			break // a large value still arriving: do not parse it again yet
		}
		lc.src = sliceSource{b: lc.in[off:]}
		lc.br.Reset(&lc.src)
		err := lc.rr.Read(&lc.resp)
		if errors.Is(err, errNeedMore) {
			lc.need = lc.rr.Need()
			break
		}
		lc.need = 0
		if err != nil {
			lc.fail(err)
			return
		}
		off += lc.src.pos - lc.br.Buffered()
		done, ok := lc.resp.Ends(r.cmd)
		if !ok {
			lc.fail(errOutOfSync)
			return
		}
		r.take(&lc.resp)
		if done {
			lc.q.pop()
			lc.lb.b.succeeded()
			r.finish(nil)
		}
	}
	rest := copy(lc.in, lc.in[off:])
	lc.in = lc.in[:rest]
	if rest == 0 && cap(lc.in) > keepBuffer {
		lc.in = nil
	}
	if lc.q.len() == 0 {
		if lc.retiring {
			lc.drop()
		}
	}
}

var errServerClosed = errors.New("server closed the connection")

// deadline is when the oldest request times out (or the connect), zero
// for none.
func (lc *lconn) deadline() time.Time {
	t := lc.lb.b.timeout
	switch {
	case lc.fd < 0:
		return time.Time{}
	case lc.connecting:
		if t <= 0 {
			t = defaultDialTimeout
		}
		return lc.since.Add(t)
	case t <= 0 || lc.q.len() == 0:
		return time.Time{}
	}
	return lc.q.head().sent.Add(t)
}

// fail closes the connection and fails every request on it; the next
// request dials again.
func (lc *lconn) fail(err error) {
	lc.drop()
	q := lc.q.take()
	lc.lb.b.failed(err)
	for _, r := range q {
		r.finish(err)
	}
}

// close fails lb's connections with err, and with closed set refuses
// further requests; the loop's.
func (lb *loopBackend) close(err error, closed bool) {
	lb.closed = lb.closed || closed
	lb.each(func(lc *lconn) {
		if lc.fd >= 0 || lc.q.len() > 0 {
			lc.fail(err)
		}
	})
}

// connect dials every connection that is down (preconnect); the loop's.
func (lb *loopBackend) connect() {
	for _, lc := range lb.conns {
		if lc.fd < 0 && !lb.closed {
			if err := lc.dial(); err != nil {
				lb.b.failed(err)
			}
		}
	}
}
