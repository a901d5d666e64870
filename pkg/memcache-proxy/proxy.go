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
// flush_all is refused. Each server has Pool.ServerConnections connections
// shared by every client, with requests pipelined on them. A request whose
// server does not answer within Pool.Timeout, or cannot be reached, is
// answered SERVER_ERROR, and that server connection is reset.
//
// Not yet implemented: auto_eject_hosts, preconnect, tcpkeepalive, metrics.
package memcacheproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podkit/podkit/pkg/memcache-proxy/hashkit"
	"github.com/podkit/podkit/pkg/memcache-proxy/protocol"
	"github.com/podkit/podkit/pkg/memcache-proxy/twemconf"
)

// Version is what the proxy answers to the version command.
const Version = "1.6.18-podkit"

// DefaultShutdownTimeout bounds how long Serve waits, once its context is
// done, for clients' pending responses before closing their connections.
const DefaultShutdownTimeout = 5 * time.Second

// Config configures a Proxy.
type Config struct {
	// Pool is the server pool: Servers, Hash, Distribution, HashTag,
	// Timeout and ServerConnections are used; Listen is the caller's
	// business (Serve takes a listener). Start from twemconf.DefaultPool.
	Pool            twemconf.Pool
	Limits          protocol.Limits // zero fields take protocol's defaults
	ShutdownTimeout time.Duration   // 0 means DefaultShutdownTimeout
	Logger          *slog.Logger    // nil: slog.Default()
}

// Proxy is a memcached proxy for one pool.
type Proxy struct {
	cfg      Config
	log      *slog.Logger
	ring     *hashkit.Ring
	backends []*backend
	start    time.Time

	clients atomic.Int64
	mu      sync.Mutex
	conns   map[*client]struct{}
}

// New validates cfg and builds a Proxy. It does no I/O and starts no
// goroutines.
func New(cfg Config) (*Proxy, error) {
	if err := cfg.Pool.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Limits.Validate(); err != nil {
		return nil, fmt.Errorf("limits: %w", err)
	}
	if cfg.ShutdownTimeout < 0 {
		return nil, fmt.Errorf("shutdown timeout: must be >= 0 (got %s)", cfg.ShutdownTimeout)
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	p := &Proxy{cfg: cfg, log: cfg.Logger, conns: map[*client]struct{}{}}
	if p.log == nil {
		p.log = slog.Default()
	}
	hs := make([]hashkit.Server, len(cfg.Pool.Servers))
	for i, s := range cfg.Pool.Servers {
		// RingName is the server's identity on the continuum; as a
		// hashkit Name it is used verbatim.
		hs[i] = hashkit.Server{Name: s.RingName(), Weight: s.Weight}
	}
	ring, err := hashkit.New(hashkit.Config{
		Hash:         hashkit.Hash(cfg.Pool.Hash),
		Distribution: hashkit.Distribution(cfg.Pool.Distribution),
		HashTag:      cfg.Pool.HashTag,
		Servers:      hs,
	})
	if err != nil {
		return nil, fmt.Errorf("pool %s: %w", cfg.Pool.Name, err)
	}
	p.ring = ring
	for _, s := range cfg.Pool.Servers {
		p.backends = append(p.backends, newBackend(s, cfg.Pool.ServerConnections, cfg.Pool.Timeout, cfg.Limits))
	}
	return p, nil
}

// Pick returns the index in Config.Pool.Servers of the server key goes to.
func (p *Proxy) Pick(key []byte) int { return p.ring.Pick(key) }

// Serve accepts clients on l until ctx is done, then closes l, stops reading
// from clients, lets their pending responses out (for at most
// ShutdownTimeout), closes them and the server connections, and returns nil.
// It returns the listener's error if accepting fails otherwise.
func (p *Proxy) Serve(ctx context.Context, l net.Listener) error {
	p.start = time.Now()
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	var err error
	for {
		conn, aerr := l.Accept()
		if aerr != nil {
			if ctx.Err() == nil {
				var ne net.Error
				if errors.As(aerr, &ne) && ne.Timeout() {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				err = aerr
				l.Close()
			}
			break
		}
		c := newClient(p, conn)
		p.mu.Lock()
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.clients.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.serve()
			p.mu.Lock()
			delete(p.conns, c)
			p.mu.Unlock()
			p.clients.Add(-1)
		}()
	}
	// Graceful: stop reading, drain what is pending, then force.
	p.mu.Lock()
	for c := range p.conns {
		c.stopReading()
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(p.cfg.ShutdownTimeout):
		p.mu.Lock()
		for c := range p.conns {
			c.conn.Close()
		}
		p.mu.Unlock()
		for _, b := range p.backends {
			b.close()
		}
		<-done
	}
	for _, b := range p.backends {
		b.close()
	}
	return err
}
