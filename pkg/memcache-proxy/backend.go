package memcacheproxy

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/podkit/podkit/pkg/memcache-proxy/protocol"
	"github.com/podkit/podkit/pkg/memcache-proxy/twemconf"
)

// span is one VALUE item of a retrieval answer in bereq.out.
type span struct {
	start, end, klen int32
}

// valueKeyOffset is where the key starts in a VALUE item as the server sent
// it: the response reader takes the key as the token after "VALUE ".
const valueKeyOffset = int32(len("VALUE "))

// bereq is one request forwarded to one server. It gets exactly one response
// unit (it is written with AppendRequest's withReply), or an error.
type bereq struct {
	cmd   protocol.Command
	buf   []byte // the request as the server receives it
	drop  bool   // NoReply: the client sees nothing
	quiet bool   // meta q: drop what HiddenByQuiet reports
	whole bool   // retrieval sent whole to one server: its answer, END included, is the client's

	b      *backend  // set by backend.send
	sent   time.Time // when it was queued to be written: its timeout runs from here
	inLoop bool      // sent on a loop's connection: answered in the client's loop

	pd *pending // the client request it is part of

	// Filled in before finish tells pd.
	out   []byte // the reply bytes the client sees; retrieval: the VALUE items
	spans []span // retrieval: each VALUE item in out, in the server's order
	eout  []byte // retrieval: an error line instead of items
	err   error
}

func (r *bereq) finish(err error) {
	r.err = err
	if b := r.b; b != nil {
		sm := b.sm
		b.inFlight.Add(-1)
		sm.inFlight.Dec()
		sm.duration.Observe(time.Since(r.sent).Seconds())
		if err != nil {
			sm.errors[errorReason(err)].Inc()
		}
	}
	pd := r.pd
	if pd == nil {
		return
	}
	// Once remaining is 0, another goroutine (the client's loop) may
	// answer pd and recycle it and r: read what is needed first.
	c, inLoop := pd.c, r.inLoop
	if pd.remaining.Add(-1) == 0 {
		if inLoop {
			c.l.flushLater(c) // once per event batch
		} else {
			c.flush()
		}
	}
}

// take adds one response unit of the server's answer to r.
func (r *bereq) take(resp *protocol.Response) {
	switch {
	case r.whole:
		r.out = protocol.AppendResponse(r.out, resp)
	case r.cmd.IsRetrieval():
		if resp.Status == protocol.StatusValue {
			start := len(r.out)
			r.out = protocol.AppendResponse(r.out, resp)
			r.spans = append(r.spans, span{int32(start), int32(len(r.out)), int32(len(resp.Key))})
		} else if resp.Status.IsError() {
			r.eout = protocol.AppendResponse(r.eout, resp)
		}
	case r.drop:
	case r.quiet && resp.HiddenByQuiet(r.cmd):
	default:
		r.out = protocol.AppendResponse(r.out, resp)
	}
}

// backend is one memcached server of the pool: a few connections shared by
// every client, picked round-robin, and the server's health.
type backend struct {
	srv     twemconf.Server
	name    string // the ring name: the server label of its metrics
	timeout time.Duration
	lim     protocol.Limits
	dialer  *dialer
	sm      *serverMetrics
	nconns  int
	conns   []*backendConn // TLS: goroutine-driven connections
	loops   []*loopBackend // plain: each loop's own connections, by loop index
	next    atomic.Uint32
	post    func(func(*loop)) // runs a function in every loop (the proxy's)
	// resolved is the host's addresses at the last lookup, for the loops,
	// which cannot wait on DNS.
	resolved atomic.Pointer[[]string]

	// Health. failures counts consecutive connection failures; a complete
	// answer resets it. onFailure (the proxy) decides about ejection.
	failures  atomic.Int32
	reachable atomic.Bool
	lastErr   atomic.Pointer[error]
	onFailure func(b *backend, n int32)
	inFlight  atomic.Int64

	// Guarded by the proxy's state lock.
	ejected   bool
	nextProbe time.Time
	backoff   time.Duration
}

func newBackend(srv twemconf.Server, pool *twemconf.Pool, lim protocol.Limits, d *dialer, sm *serverMetrics, nloops int) *backend {
	n := max(pool.ServerConnections, 1)
	b := &backend{srv: srv, name: srv.RingName(), timeout: pool.Timeout, lim: lim.WithDefaults(), dialer: d, sm: sm, nconns: n}
	if d.tls != nil {
		for range n {
			b.conns = append(b.conns, &backendConn{b: b})
		}
	} else {
		b.loops = make([]*loopBackend, nloops)
	}
	sm.up.Set(0)
	return b
}

// send forwards r on one of b's connections; r.finish tells its client
// when it is answered or failed.
func (b *backend) send(r *bereq) {
	r.b = b
	r.sent = time.Now()
	b.inFlight.Add(1)
	b.sm.requests.Inc()
	b.sm.inFlight.Inc()
	if b.loops != nil {
		l := r.pd.c.l
		l.backendFor(b).send(r)
		return
	}
	c := b.conns[0]
	if len(b.conns) > 1 {
		c = b.conns[int(b.next.Add(1))%len(b.conns)]
	}
	c.send(r)
}

// connect dials every connection that is not up (preconnect).
func (b *backend) connect() {
	if b.loops != nil {
		b.post(func(l *loop) { l.backendFor(b).connect() })
		return
	}
	for _, c := range b.conns {
		c.mu.Lock()
		if !c.closed && c.gen == nil {
			c.dialLocked()
		}
		c.mu.Unlock()
	}
}

func (b *backend) succeeded() {
	if b.failures.Load() != 0 {
		b.failures.Store(0)
	}
	if !b.reachable.Load() {
		b.reachable.Store(true)
		b.sm.up.Set(1)
	}
}

func (b *backend) failed(err error) {
	if errors.Is(err, errProxyClosed) || errors.Is(err, errResolved) {
		return
	}
	b.lastErr.Store(&err)
	b.reachable.Store(false)
	b.sm.up.Set(0)
	n := b.failures.Add(1)
	if b.onFailure != nil {
		b.onFailure(b, n)
	}
}

// reset closes b's connections with err; requests waiting on them fail, the
// next ones dial afresh.
func (b *backend) reset(err error) {
	if b.loops != nil {
		b.post(func(l *loop) {
			if lb := b.loops[l.idx]; lb != nil {
				lb.readdress()
			}
		})
		return
	}
	for _, c := range b.conns {
		c.mu.Lock()
		g := c.gen
		c.mu.Unlock()
		if g != nil {
			c.fail(g, err)
		}
	}
}

func (b *backend) close() {
	if b.loops != nil {
		b.post(func(l *loop) {
			if lb := b.loops[l.idx]; lb != nil {
				lb.close(errProxyClosed, true)
				l.dropBackend(lb)
			}
		})
		return
	}
	for _, c := range b.conns {
		c.close()
	}
}

var (
	errProxyClosed = errors.New("proxy shutting down")
	// errResolved closes connections to an address the server's host name
	// no longer resolves to; it is not the server's failure.
	errResolved   = errors.New("server address changed")
	errOutOfSync  = errors.New("bad response from server")
	errEjected    = errors.New("server ejected")
	errNoServers  = errors.New("no server in service")
	errRetiredSrv = errors.New("server removed by a reload")
)

// sockaddr is where the loops connect: the socket path, the IP address,
// or the host's address at the last lookup (rotating after failures).
func (b *backend) sockaddr() (syscall.Sockaddr, error) {
	if b.srv.Path != "" {
		return &syscall.SockaddrUnix{Name: b.srv.Path}, nil
	}
	host := b.srv.Host
	if net.ParseIP(host) == nil {
		addrs := b.resolved.Load()
		if addrs == nil || len(*addrs) == 0 {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: errNoAddress.Error(), Name: host}}
		}
		host = (*addrs)[int(b.failures.Load())%len(*addrs)]
	}
	ip := net.ParseIP(host)
	if ip4 := ip.To4(); ip4 != nil {
		sa := &syscall.SockaddrInet4{Port: b.srv.Port}
		copy(sa.Addr[:], ip4)
		return sa, nil
	}
	sa := &syscall.SockaddrInet6{Port: b.srv.Port}
	copy(sa.Addr[:], ip.To16())
	return sa, nil
}

// errorReason is the metric reason for a failed request.
func errorReason(err error) string {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return reasonTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return reasonRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return reasonReset
	case errors.Is(err, errOutOfSync), errors.Is(err, protocol.ErrBadResponse):
		return reasonBadResponse
	case errors.Is(err, errEjected), errors.Is(err, errNoServers):
		return reasonEjected
	case isDNS(err):
		return reasonResolve
	case errors.Is(err, errProxyClosed), errors.Is(err, errResolved), errors.Is(err, errRetiredSrv):
		return reasonClosed
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return reasonTimeout
	}
	return reasonClosed
}

func isDNS(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de)
}

// errorText is the SERVER_ERROR message for a failed request, in the errno
// words twemproxy uses.
func errorText(err error) string {
	switch errorReason(err) {
	case reasonTimeout:
		return "Connection timed out"
	case reasonRefused:
		return "Connection refused"
	case reasonReset:
		return "Connection reset by peer"
	case reasonBadResponse:
		return errOutOfSync.Error()
	case reasonResolve:
		var de *net.DNSError
		errors.As(err, &de)
		return "Host not found: " + de.Name
	}
	switch {
	case errors.Is(err, errProxyClosed), errors.Is(err, errEjected), errors.Is(err, errNoServers),
		errors.Is(err, errResolved), errors.Is(err, errRetiredSrv):
		return err.Error()
	}
	return "Connection closed"
}
