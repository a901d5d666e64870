package memcacheproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/podkit/podkit/internal/reload"
	"github.com/podkit/podkit/pkg/memcache-proxy/twemconf"
)

// DefaultWatchInterval is how often a Service checks its file for changes
// (by content: see internal/reload).
const DefaultWatchInterval = reload.DefaultInterval

// ServiceConfig configures a Service: the pools of a twemproxy file, as
// nutcracker runs them, or pools built by the caller (from flags).
type ServiceConfig struct {
	File     string          // twemproxy YAML; "" means Pools
	PoolName string          // with File: run only this pool ("" runs them all)
	Pools    []twemconf.Pool // without File

	// Proxy is the template of every pool's proxy: its Pool is ignored,
	// everything else applies to all.
	Proxy Config

	// Reload receives a value for each reload request (SIGHUP): File is
	// read again. The file is also polled every WatchInterval (0:
	// DefaultWatchInterval, < 0: never).
	Reload        <-chan os.Signal
	WatchInterval time.Duration
}

// Service runs one Proxy per pool and reloads them from the file: the
// command podkit memcache-proxy is this, wired to flags and signals. It is
// a daemon component.
type Service struct {
	cfg       ServiceConfig
	proxies   []*Proxy
	listeners []net.Listener
	file      *reload.File
	reloader  *reload.Reloader

	mu sync.Mutex // serializes reloads
}

// NewService reads the file (if any) and builds every pool's proxy. It
// does no network I/O.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.WatchInterval == 0 {
		cfg.WatchInterval = DefaultWatchInterval
	}
	if err := cfg.Proxy.checkTemplate(); err != nil {
		return nil, err
	}
	if cfg.Proxy.Logger == nil {
		cfg.Proxy.Logger = slog.Default()
	}
	s := &Service{cfg: cfg, file: &reload.File{Path: cfg.File, Max: twemconf.MaxFileSize}}
	pools := cfg.Pools
	if cfg.File != "" {
		var err error
		if pools, err = s.read(); err != nil {
			return nil, err
		}
	} else if err := twemconf.ValidatePools(pools); err != nil {
		return nil, err
	}
	for _, pool := range pools {
		pc := cfg.Proxy
		pc.Pool = pool
		pc.Logger = cfg.Proxy.Logger.With("pool", pool.Name)
		p, err := New(pc)
		if err != nil {
			return nil, err
		}
		if pool.Timeout == 0 {
			pc.Logger.Warn("pool has no timeout: a server that stops answering holds its requests until its connection fails (twemproxy's default; set timeout)")
		}
		s.proxies = append(s.proxies, p)
	}
	s.reloader = &reload.Reloader{Apply: s.Reload, Signals: cfg.Reload, Interval: cfg.WatchInterval, Logger: cfg.Proxy.Logger}
	if cfg.File != "" {
		s.reloader.Files = []*reload.File{s.file}
	}
	if err := s.reloader.Register(cfg.Proxy.Registry); err != nil {
		return nil, err
	}
	return s, nil
}

// read parses the file and selects the pools; it remembers what it read,
// so that the watcher sees changes.
func (s *Service) read() ([]twemconf.Pool, error) {
	data, err := s.file.Read()
	if err != nil {
		return nil, &twemconf.Error{File: s.cfg.File, Err: err}
	}
	c, err := twemconf.Parse(s.cfg.File, data)
	if err != nil {
		return nil, err
	}
	for _, w := range c.Warnings {
		s.cfg.Proxy.Logger.Warn("config", "file", s.cfg.File, "warning", w)
	}
	pools, err := c.Select(s.cfg.PoolName)
	if err != nil {
		return nil, err
	}
	return pools, nil
}

// Proxies returns the running proxies, one per pool in the file's order.
func (s *Service) Proxies() []*Proxy { return s.proxies }

// Addrs returns the bound listen addresses after Listen.
func (s *Service) Addrs() []net.Addr {
	var a []net.Addr
	for _, l := range s.listeners {
		a = append(a, l.Addr())
	}
	return a
}

// Name is the component's name in /readyz.
func (s *Service) Name() string { return "memcache-proxy" }

// Listen binds every pool's address, so that a clash fails before anything
// runs.
func (s *Service) Listen() error {
	if s.listeners != nil {
		return nil
	}
	for _, p := range s.proxies {
		l, err := Listen(p.Pool())
		if err != nil {
			for _, o := range s.listeners {
				o.Close()
			}
			s.listeners = nil
			return fmt.Errorf("memcache-proxy: pool %s: listen: %w", p.Pool().Name, err)
		}
		s.listeners = append(s.listeners, l)
	}
	return nil
}

// Ready is nil when every pool has a reachable server.
func (s *Service) Ready() error {
	var errs []error
	for _, p := range s.proxies {
		if err := p.Ready(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run serves every pool until ctx is done, reloading on request.
func (s *Service) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	for _, p := range s.proxies {
		s.cfg.Proxy.Logger.Info("memcache-proxy listening", "pool", p.Pool().Name, "listen", p.Pool().Listen.String(),
			"servers", len(p.Pool().Servers), "hash", p.Pool().Hash, "distribution", p.Pool().Distribution)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(s.proxies))
	var wg sync.WaitGroup
	for i, p := range s.proxies {
		wg.Go(func() {
			if err := p.Serve(ctx, s.listeners[i]); err != nil {
				errc <- err
				cancel()
			}
		})
	}
	s.reloader.Run(ctx)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// Reload re-reads the file and applies it to every pool, or to none: a bad
// file is rejected and the running configuration stays.
func (s *Service) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.File == "" {
		return errors.New("memcache-proxy: no configuration file to reload (pools come from flags)")
	}
	pools, err := s.read()
	if err != nil {
		return err
	}
	if len(pools) != len(s.proxies) {
		return fmt.Errorf("memcache-proxy: reload: %d pools, running %d: adding or removing pools needs a restart", len(pools), len(s.proxies))
	}
	for i, p := range s.proxies {
		cur := p.Pool()
		if pools[i].Name != cur.Name {
			return fmt.Errorf("memcache-proxy: reload: pool %d is %q, running %q: renaming or reordering pools needs a restart", i+1, pools[i].Name, cur.Name)
		}
		if pools[i].Listen.Addr() != cur.Listen.Addr() || pools[i].Listen.Network() != cur.Listen.Network() {
			return fmt.Errorf("memcache-proxy: reload: pool %s: listen %s -> %s needs a restart", cur.Name, cur.Listen, pools[i].Listen)
		}
		if _, err := newRing(pools[i]); err != nil {
			return err
		}
	}
	for i, p := range s.proxies {
		if err := p.Reload(pools[i]); err != nil {
			return err // not reached: checked above
		}
	}
	return nil
}
