// Package memcacheproxy is podkit memcache-proxy, the ambassador pattern
// (Burns & Oppenheimer 2016, section 4.2): a memcached proxy that shards keys
// over a pool of memcached servers exactly as twemproxy (nutcracker) 0.5.0
// does, so that it can replace a running twemproxy without moving a key.
//
// A Proxy serves one twemconf.Pool. Each client connection may pipeline
// requests; they are answered in order. Single-key commands go to the key's
// server (hashkit.Ring.Pick); get, gets, gat and gats are split per server,
// sent in parallel and merged in the client's key order under one END;
// version, stats, verbosity, mn and quit are answered by the proxy, and
// flush_all is refused. Clients are served by event loops (Config.Loops);
// each loop has Pool.ServerConnections connections to each server, shared
// by its clients, with requests pipelined on them. A request whose
// server does not answer within Pool.Timeout of being sent, or cannot be
// reached, is answered SERVER_ERROR, and that server connection is reset.
//
// With Pool.AutoEjectHosts, a server that fails ServerFailureLimit times in
// a row leaves the ring and its keys are re-hashed over the others, as in
// twemproxy; unlike twemproxy it rejoins only once a version probe, sent
// after ServerRetryTimeout and then with a doubling backoff, succeeds.
// Config.EjectDrop turns its keys into misses instead. Host names are
// looked up again every Config.ResolveInterval, and Reload swaps in a new
// pool without dropping connections. Service runs the pools of a twemproxy
// file and reloads them; it is what the podkit memcache-proxy command runs.
// Linux only: the loops use epoll.
package memcacheproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podkit/podkit/pkg/memcache-proxy/hashkit"
	"github.com/podkit/podkit/pkg/memcache-proxy/twemconf"
)

// Version is what the proxy answers to the version command.
const Version = "1.6.18-podkit"

// Proxy is a memcached proxy for one pool.
type Proxy struct {
	cfg   Config
	log   *slog.Logger
	m     *poolMetrics
	start time.Time

	mu   sync.Mutex            // serializes state changes and backend health fields
	st   atomic.Pointer[state] // what requests are routed by
	wake chan struct{}         // capacity 1: something for the health loop
	bg   sync.WaitGroup        // retiring backends

	clients atomic.Int64
	nloops  int
	loops   atomic.Pointer[[]*loop] // while Serve runs
}

// state is an immutable routing snapshot: a client request reads it once.
type state struct {
	pool     twemconf.Pool
	ring     *hashkit.Ring // every server
	live     *hashkit.Ring // auto-eject: the servers in service; nil when none is
	out      []bool        // by server: ejected
	backends []*backend
	drop     bool // EjectDrop
}

// pick returns key's server, or errEjected (fail-fast mode) or errNoServers.
func (st *state) pick(key []byte) (int, error) {
	if !st.pool.AutoEjectHosts {
		return st.ring.Pick(key), nil
	}
	if st.drop {
		s := st.ring.Pick(key)
		if st.out[s] {
			return s, errEjected
		}
		return s, nil
	}
	if st.live == nil {
		return -1, errNoServers
	}
	return st.live.Pick(key), nil
}

// New validates cfg and builds a Proxy. It does no I/O and starts no
// goroutines.
func New(cfg Config) (*Proxy, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &Proxy{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1), nloops: cfg.Loops}
	if p.nloops == 0 {
		p.nloops = DefaultLoops()
	}
	p.m = newMetrics(cfg.Registry).forPool(cfg.Pool.Name)
	st, _, err := p.build(cfg.Pool, nil)
	if err != nil {
		return nil, err
	}
	p.st.Store(st)
	p.m.m.ringServer.WithLabelValues(cfg.Pool.Name, "configured").Set(float64(len(st.backends)))
	p.m.m.ringServer.WithLabelValues(cfg.Pool.Name, "live").Set(float64(len(st.backends)))
	return p, nil
}

// build makes the state for pool, reusing old's backends where the server
// and its connection settings are unchanged; retired are old's others.
func (p *Proxy) build(pool twemconf.Pool, old *state) (st *state, retired []*backend, err error) {
	ring, err := newRing(pool)
	if err != nil {
		return nil, nil, err
	}
	st = &state{pool: pool, ring: ring, drop: p.cfg.EjectDrop, out: make([]bool, len(pool.Servers))}
	reuse := map[string]*backend{}
	if old != nil && sameConnSettings(&old.pool, &pool) {
		for _, b := range old.backends {
			reuse[backendKey(b.srv)] = b
		}
	}
	d := &dialer{timeout: pool.Timeout, keepalive: pool.TCPKeepalive, tls: p.cfg.TLS}
	for i, s := range pool.Servers {
		b := reuse[backendKey(s)]
		if b != nil {
			delete(reuse, backendKey(s))
		} else {
			b = newBackend(s, &pool, p.cfg.Limits, d, p.m.forServer(s.RingName()), p.nloops)
			b.onFailure = p.onFailure
			b.post = p.postAll
		}
		st.backends = append(st.backends, b)
		st.out[i] = b.ejected
	}
	for _, b := range reuse {
		retired = append(retired, b)
	}
	return st, retired, p.relive(st)
}

// newRing places pool's servers as twemproxy does.
func newRing(pool twemconf.Pool) (*hashkit.Ring, error) {
	hs := make([]hashkit.Server, len(pool.Servers))
	for i, s := range pool.Servers {
		// RingName is the server's identity on the continuum; as a
		// hashkit Name it is used verbatim.
		hs[i] = hashkit.Server{Name: s.RingName(), Weight: s.Weight}
	}
	r, err := hashkit.New(hashkit.Config{
		Hash:         hashkit.Hash(pool.Hash),
		Distribution: hashkit.Distribution(pool.Distribution),
		HashTag:      pool.HashTag,
		Servers:      hs,
	})
	if err != nil {
		return nil, fmt.Errorf("pool %s: %w", pool.Name, err)
	}
	return r, nil
}

func backendKey(s twemconf.Server) string { return s.Network() + " " + s.Addr() + " " + s.RingName() }

func sameConnSettings(a, b *twemconf.Pool) bool {
	return a.Timeout == b.Timeout && a.ServerConnections == b.ServerConnections && a.TCPKeepalive == b.TCPKeepalive
}

// relive rebuilds st.live from st.out.
func (p *Proxy) relive(st *state) error {
	live := make([]bool, len(st.out))
	for i, o := range st.out {
		live[i] = !o
	}
	r, err := st.ring.WithLive(live)
	switch {
	case errors.Is(err, hashkit.ErrNoLiveServers):
		st.live = nil
	case err != nil:
		return err
	default:
		st.live = r
	}
	return nil
}

// DefaultLoops is the number of event loops when Config.Loops is 0: one per
// two CPUs (GOMAXPROCS), at least one and at most maxDefaultLoops. A loop at
// full load keeps a CPU busy with system calls and its clients keep others
// busy; on a 2-core machine shared with the load, one loop did better than
// two (README, memcache-proxy). The cap is for the servers: every loop has
// its own connections to each of them, and a fleet of sidecars on large
// nodes would otherwise open dozens each, past memcached's default of 1024
// connections.
func DefaultLoops() int { return max(1, min(maxDefaultLoops, (runtime.GOMAXPROCS(0)+1)/2)) }

const maxDefaultLoops = 4

// Pick returns the index in the pool's Servers of the server key goes to,
// with every server in service.
func (p *Proxy) Pick(key []byte) int { return p.st.Load().ring.Pick(key) }

// Pool returns the pool being served: Config.Pool or the last reloaded.
func (p *Proxy) Pool() twemconf.Pool { return p.st.Load().pool }

// Reload swaps in pool for new requests; requests already sent finish on
// the servers they were sent to. Servers whose address, name and
// connection settings are unchanged keep their connections and health.
// The listen address cannot change (the caller owns the listener).
func (p *Proxy) Reload(pool twemconf.Pool) error {
	if err := pool.Validate(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.st.Load()
	if pool.Listen.Network() != old.pool.Listen.Network() || pool.Listen.Addr() != old.pool.Listen.Addr() {
		return fmt.Errorf("pool %s: listen: %s -> %s needs a restart", pool.Name, old.pool.Listen, pool.Listen)
	}
	st, retired, err := p.build(pool, old)
	if err != nil {
		return err
	}
	p.st.Store(st)
	p.gaugeServers(st)
	keep := map[string]bool{}
	for _, b := range st.backends {
		keep[b.name] = true
	}
	for _, b := range retired {
		p.bg.Add(1)
		go func() {
			defer p.bg.Done()
			p.retire(b, !keep[b.name])
		}()
	}
	p.kick()
	return nil
}

// retire closes a backend a reload removed once its requests are answered
// (or after the pool's timeout, at least 5 s).
func (p *Proxy) retire(b *backend, dropMetrics bool) {
	wait := max(b.timeout, 5*time.Second)
	deadline := time.Now().Add(wait)
	for b.inFlight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	b.close()
	if dropMetrics {
		p.m.dropServer(b.name)
	}
}

// Ready is nil when at least one server in service answered its last
// request or probe.
func (p *Proxy) Ready() error {
	st := p.st.Load()
	var why []string
	for i, b := range st.backends {
		if st.out[i] {
			why = append(why, b.name+": ejected")
			continue
		}
		if b.reachable.Load() {
			return nil
		}
		if e := b.lastErr.Load(); e != nil {
			why = append(why, b.name+": "+errorText(*e))
		} else {
			why = append(why, b.name+": not probed yet")
		}
	}
	return fmt.Errorf("pool %s: no server reachable (%v)", st.pool.Name, why)
}

// Serve accepts clients on l until ctx is done, then closes l, stops reading
// from clients, lets their pending responses out (for at most
// ShutdownTimeout), closes them and the server connections, and returns nil.
// It returns the listener's error if accepting fails otherwise. l must be a
// TCP or unix socket listener (Listen's, or net.Listen's).
func (p *Proxy) Serve(ctx context.Context, l net.Listener) error {
	p.start = time.Now()
	loops := make([]*loop, p.nloops)
	for i := range loops {
		lp, err := newLoop(p, i)
		if err != nil {
			for _, o := range loops[:i] {
				o.free()
			}
			l.Close()
			return err
		}
		loops[i] = lp
	}
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	bgCtx, bgCancel := context.WithCancel(ctx)
	var bg sync.WaitGroup
	p.resolveOnce(ctx) // the loops dial addresses, never names
	p.loops.Store(&loops)
	bg.Go(func() { p.healthLoop(bgCtx) })
	bg.Go(func() { p.resolveLoop(bgCtx) })
	var lw sync.WaitGroup
	for _, lp := range loops {
		lw.Go(lp.run)
	}
	if p.st.Load().pool.Preconnect {
		for _, b := range p.st.Load().backends {
			b.connect()
		}
	}
	err := p.acceptLoop(l, loops)
	if ctx.Err() != nil {
		err = nil
	}
	l.Close()
	bgCancel()
	// Graceful: stop reading, drain what is pending, then force.
	for _, lp := range loops {
		lp.wake(loopDrain)
	}
	done := make(chan struct{})
	go func() { lw.Wait(); close(done) }()
	closeBackends := func() {
		for _, b := range p.st.Load().backends {
			b.close()
		}
	}
	select {
	case <-done:
	case <-time.After(p.cfg.ShutdownTimeout):
		for _, lp := range loops {
			lp.wake(loopClose) // each closes its clients and server connections
		}
		<-done
	}
	closeBackends()
	bg.Wait()
	p.bg.Wait()
	return err
}

// postAll runs fn in every loop, or nowhere when Serve is not running (no
// loop has connections then).
func (p *Proxy) postAll(fn func(*loop)) {
	if ls := p.loops.Load(); ls != nil {
		for _, l := range *ls {
			l.post(fn)
		}
	}
}

// acceptPause waits before accepting again when descriptors ran out.
func (p *Proxy) acceptPause() { time.Sleep(10 * time.Millisecond) }

// Listen binds pool's listen address; a unix socket gets the pool's
// permissions, replacing a stale socket file. The backlog is the kernel's
// somaxconn, as for every Go listener: the pool's backlog is not applied.
func Listen(pool twemconf.Pool) (net.Listener, error) {
	l := pool.Listen
	if l.Path == "" {
		return net.Listen("tcp", l.Addr())
	}
	if fi, err := os.Lstat(l.Path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(l.Path)
	}
	ln, err := net.Listen("unix", l.Path)
	if err != nil {
		return nil, err
	}
	if l.Perm != 0 {
		if err := os.Chmod(l.Path, l.Perm); err != nil {
			ln.Close()
			return nil, err
		}
	}
	return ln, nil
}
