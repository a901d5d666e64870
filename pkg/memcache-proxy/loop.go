package memcacheproxy

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Clients and server connections are served by event loops, one per CPU, as memcached's worker
// threads and twemproxy's single loop do, not by goroutines: a goroutine per
// connection costs two scheduler switches and a read that returns EAGAIN on
// every request, which at depth 1 (the usual cache client) made the proxy
// spend half as much CPU again per request as twemproxy. A loop reads each
// ready client once, parses and dispatches what arrived, and the server
// connection that completes a response writes it to the client directly.
type loop struct {
	p     *Proxy
	idx   int
	epfd  int
	ep    *os.File        // epfd in Go's poller: the loop parks as a goroutine
	rc    syscall.RawConn // ep's
	wakeR int             // a pipe whose read end is in the epoll set: posts and stop requests
	wakeW int

	mu      sync.Mutex
	fds     map[uint32]pollee
	clients int
	posts   []func(*loop)
	exited  bool
	after   sync.Mutex // serializes posts once the loop has exited
	stop    atomic.Int32

	// The loop's alone.
	backends     []*loopBackend
	dirty        []*lconn  // server connections with requests to write
	dirtyClients []*client // clients with answers to write
	spare        []*client // the other half of dirtyClients' double buffer
	armed        time.Time // the deadline set on ep
}

// pollee is what an epoll event is for: a client or a server connection.
type pollee interface {
	readable(hup bool) // hup: EPOLLHUP or EPOLLERR, reported whatever is polled for
	writable()
}

const (
	loopRun = iota
	loopDrain
	loopClose
)

// wakeID is the epoll data of the loop's wake pipe; sockets have ids >= 1.
const wakeID = 0

var nextID atomic.Uint32

func newID() uint32 {
	for {
		if id := nextID.Add(1); id != wakeID {
			return id
		}
	}
}

func newLoop(p *Proxy, idx int) (*loop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	var pfd [2]int
	if err := syscall.Pipe2(pfd[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("pipe: %w", err)
	}
	// Waiting in epoll_wait(2) would block a thread per loop, and the
	// scheduler would hand its P around on every wake-up: a context
	// switch or two per request. Go's poller watches the epoll descriptor
	// instead (it is readable when an event is ready), so a loop waits
	// as cheaply as any goroutine, with a deadline for server timeouts.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("epoll: %w", err)
	}
	l := &loop{p: p, idx: idx, epfd: epfd, ep: os.NewFile(uintptr(epfd), "epoll"), wakeR: pfd[0], wakeW: pfd[1], fds: map[uint32]pollee{}}
	rc, err := l.ep.SyscallConn()
	if err != nil {
		l.free()
		return nil, fmt.Errorf("epoll: %w", err)
	}
	l.rc = rc
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: 0, Pad: wakeID}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.wakeR, &ev); err != nil {
		l.free()
		return nil, fmt.Errorf("epoll: %w", err)
	}
	return l, nil
}

func (l *loop) free() {
	l.ep.Close()
	syscall.Close(l.wakeR)
	syscall.Close(l.wakeW)
}

// wake makes the loop look at l.stop and its posts. A loop that has exited
// has closed its pipe, whose descriptor number may belong to anything now.
func (l *loop) wake(state int32) {
	if state != loopRun {
		l.stop.Store(state)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.exited {
		syscall.Write(l.wakeW, []byte{1})
	}
}

// post runs fn in the loop; once the loop has exited, here, one at a time.
func (l *loop) post(fn func(*loop)) {
	l.mu.Lock()
	if l.exited {
		l.mu.Unlock()
		l.after.Lock()
		defer l.after.Unlock()
		fn(l)
		return
	}
	l.posts = append(l.posts, fn)
	l.mu.Unlock()
	l.wake(loopRun)
}

// dropBackend forgets a server a reload removed; the loop's.
func (l *loop) dropBackend(lb *loopBackend) {
	l.backends = slices.DeleteFunc(l.backends, func(o *loopBackend) bool { return o == lb })
}

// register adds a socket to the poll set.
func (l *loop) register(p pollee, id uint32, fd int, in, out bool) error {
	l.mu.Lock()
	l.fds[id] = p
	if _, ok := p.(*client); ok {
		l.clients++
	}
	l.mu.Unlock()
	ev := syscall.EpollEvent{Events: events(in, out), Pad: int32(id)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.forget(id)
		return err
	}
	return nil
}

func events(in, out bool) uint32 {
	var e uint32
	if in {
		e |= syscall.EPOLLIN | syscall.EPOLLRDHUP
	}
	if out {
		e |= syscall.EPOLLOUT
	}
	return e
}

func (l *loop) forget(id uint32) {
	l.mu.Lock()
	if p, ok := l.fds[id]; ok {
		delete(l.fds, id)
		if _, ok := p.(*client); ok {
			l.clients--
		}
	}
	l.mu.Unlock()
}

func (l *loop) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.clients
}

// watchFd sets the events a socket is polled for.
func (l *loop) watchFd(id uint32, fd int, in, out bool) {
	ev := syscall.EpollEvent{Events: events(in, out), Pad: int32(id)}
	syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, fd, &ev)
}

func (l *loop) watch(c *client, in, out bool) { l.watchFd(c.id, c.fd, in, out) }

// flushLater queues a client whose answers are ready, for the end of the
// event batch: the answers of a pipelined burst go out in one write.
func (l *loop) flushLater(c *client) {
	if !c.dirty {
		c.dirty = true
		l.dirtyClients = append(l.dirtyClients, c)
	}
}

// run serves the loop's sockets until told to close, or until told to
// drain and no client is left.
func (l *loop) run() {
	defer l.exit()
	events := make([]syscall.EpollEvent, 128)
	var n int
	var werr error
	wait := func(fd uintptr) bool {
		n, werr = syscall.EpollWait(int(fd), events, 0)
		return n != 0 || (werr != nil && werr != syscall.EINTR)
	}
	draining := false
	for {
		switch l.stop.Load() {
		case loopClose:
			l.closeAll()
			return
		case loopDrain:
			if !draining {
				draining = true
				l.drainAll()
			}
			if l.count() == 0 {
				return
			}
		}
		l.arm()
		n, werr = 0, nil
		err := l.rc.Read(wait)
		if err == nil {
			err = werr
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			l.p.log.Error("memcache-proxy: epoll_wait", "err", err)
			l.closeAll()
			return
		}
		for i := range n {
			ev := &events[i]
			id := uint32(ev.Pad)
			if id == wakeID {
				var buf [64]byte
				syscall.Read(l.wakeR, buf[:])
				continue
			}
			l.mu.Lock()
			p := l.fds[id]
			l.mu.Unlock()
			if p == nil {
				continue
			}
			if ev.Events&(syscall.EPOLLOUT|syscall.EPOLLERR) != 0 {
				p.writable()
			}
			if ev.Events&(syscall.EPOLLIN|syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
				p.readable(ev.Events&(syscall.EPOLLHUP|syscall.EPOLLERR) != 0)
			}
		}
		l.runPosts()
		l.expire()
		l.flushDirty()
	}
}

func (l *loop) runPosts() {
	l.mu.Lock()
	posts := l.posts
	l.posts = nil
	l.mu.Unlock()
	for _, fn := range posts {
		fn(l)
	}
}

// flushDirty writes what the batch queued: requests to servers first, so
// that they travel while the clients' answers are written.
func (l *loop) flushDirty() {
	for len(l.dirty) > 0 || len(l.dirtyClients) > 0 {
		for i, lc := range l.dirty {
			l.dirty[i] = nil
			if lc.dirty {
				lc.write()
			}
		}
		l.dirty = l.dirty[:0]
		cs := l.dirtyClients
		l.dirtyClients = l.spare[:0]
		for i, c := range cs {
			cs[i] = nil
			c.dirty = false
			c.flush()
		}
		l.spare = cs[:0]
	}
}

// arm sets the poll deadline to the earliest server timeout.
func (l *loop) arm() {
	var next time.Time
	for _, lb := range l.backends {
		lb.each(func(lc *lconn) {
			if d := lc.deadline(); !d.IsZero() && (next.IsZero() || d.Before(next)) {
				next = d
			}
		})
	}
	if next.Equal(l.armed) {
		return
	}
	if next.IsZero() || l.armed.IsZero() || next.Before(l.armed) || time.Now().After(l.armed) {
		l.ep.SetReadDeadline(next)
		l.armed = next
	}
}

// expire fails the server connections whose oldest request timed out.
func (l *loop) expire() {
	if l.armed.IsZero() {
		return
	}
	now := time.Now()
	if now.Before(l.armed) {
		return
	}
	for _, lb := range l.backends {
		lb.each(func(lc *lconn) {
			if d := lc.deadline(); !d.IsZero() && !now.Before(d) {
				lc.fail(os.ErrDeadlineExceeded)
			}
		})
	}
	l.ep.SetReadDeadline(time.Time{})
	l.armed = time.Time{}
}

// exit closes the loop's clients and server connections and frees the
// loop. Posts that arrive meanwhile run here too; once it is done, posts
// run in the caller.
func (l *loop) exit() {
	l.runPosts()
	l.closeAll() // clients that arrived as the loop stopped
	for _, lb := range l.backends {
		lb.close(errProxyClosed, true)
	}
	l.flushDirty()
	l.after.Lock()
	defer l.after.Unlock()
	l.mu.Lock()
	l.exited = true
	l.mu.Unlock()
	l.runPosts()
	l.free()
}

func (l *loop) hasExited() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.exited
}

func (l *loop) snapshot() []*client {
	l.mu.Lock()
	defer l.mu.Unlock()
	var cs []*client
	for _, p := range l.fds {
		if c, ok := p.(*client); ok {
			cs = append(cs, c)
		}
	}
	return cs
}

func (l *loop) drainAll() {
	for _, c := range l.snapshot() {
		c.stopReading()
	}
}

func (l *loop) closeAll() {
	for _, c := range l.snapshot() {
		c.shut()
	}
}

// acceptLoop accepts clients on ln and hands their sockets, taken out of
// Go's poller, to the loops in turn. It returns when ln is closed.
func (p *Proxy) acceptLoop(ln net.Listener, loops []*loop) error {
	tcp := ln.Addr().Network() == "tcp"
	var next int
	for {
		conn, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				p.acceptPause() // out of descriptors: clients wait in the backlog
				continue
			}
			return err
		}
		fd, err := detach(conn)
		if err != nil {
			p.log.Warn("memcache-proxy: accept", "err", err)
			continue
		}
		if tcp {
			syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		}
		l := loops[next]
		next = (next + 1) % len(loops)
		c := newClient(p, l, fd)
		p.clients.Add(1)
		p.m.clients.Inc()
		p.m.accepted.Inc()
		l.post(func(l *loop) {
			if err := l.register(c, c.id, c.fd, true, false); err != nil {
				c.shut()
			} else if l.stop.Load() != loopRun {
				c.stopReading() // arrived as the loop drains
			}
		})
	}
}

// detach returns a non-blocking duplicate of conn's socket and closes conn,
// which takes the socket out of Go's poller (a listener's raw accept is not
// offered by the net package).
func detach(conn net.Conn) (int, error) {
	defer conn.Close()
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("connection %T has no socket", conn)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = e
			return
		}
		nfd = int(r)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, derr
	}
	// The duplicate shares the file status flags: it is non-blocking
	// already; say so anyway in case the poller ever stops setting them.
	if err := syscall.SetNonblock(nfd, true); err != nil {
		syscall.Close(nfd)
		return -1, err
	}
	return nfd, nil
}
