package memcacheproxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podkit/podkit/pkg/memcache-proxy/twemconf"
)

// DefaultWatchInterval is how often a Service checks its file for changes.
// Kubernetes updates a mounted ConfigMap by swapping a symlink, which
// inotify on the file itself misses; a stat every few seconds does not.
const DefaultWatchInterval = 2 * time.Second

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
	reloads   *prometheus.CounterVec
	lastOK    prometheus.Gauge

	mu  sync.Mutex // serializes reloads
	sum [sha256.Size]byte
	fi  os.FileInfo
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
	s := &Service{cfg: cfg}
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
	s.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "podkit_config_reloads_total",
		Help: "Configuration reloads (SIGHUP or a change of the file), by result: success, failure.",
	}, []string{"result"})
	s.lastOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "podkit_config_last_reload_successful",
		Help: "1 when the last reload was applied (or none was tried), 0 when it was rejected and the previous configuration runs.",
	})
	s.lastOK.Set(1)
	if r := cfg.Proxy.Registry; r != nil {
		r.MustRegister(s.reloads, s.lastOK)
	}
	return s, nil
}

// read parses the file and selects the pools; it remembers what it read,
// so that the watcher sees changes.
func (s *Service) read() ([]twemconf.Pool, error) {
	fi, err := os.Stat(s.cfg.File)
	if err != nil {
		return nil, &twemconf.Error{File: s.cfg.File, Err: errors.Unwrap(err)}
	}
	data, err := os.ReadFile(s.cfg.File)
	if err != nil {
		return nil, &twemconf.Error{File: s.cfg.File, Err: errors.Unwrap(err)}
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
	s.sum, s.fi = sha256.Sum256(data), fi
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
	var tick <-chan time.Time
	if s.cfg.File != "" && s.cfg.WatchInterval > 0 {
		t := time.NewTicker(s.cfg.WatchInterval)
		defer t.Stop()
		tick = t.C
	}
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-s.cfg.Reload:
			s.reload("signal")
		case <-tick:
			if s.changed() {
				s.reload("file changed")
			}
		}
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// changed reports whether the file's content differs from what was last
// read (or tried).
func (s *Service) changed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.cfg.File)
	if err != nil {
		return false // a file being replaced; the next tick sees it
	}
	if s.fi != nil && fi.ModTime().Equal(s.fi.ModTime()) && fi.Size() == s.fi.Size() && os.SameFile(fi, s.fi) {
		return false
	}
	data, err := os.ReadFile(s.cfg.File)
	if err != nil || len(data) > twemconf.MaxFileSize {
		return err == nil
	}
	sum := sha256.Sum256(data)
	if bytes.Equal(sum[:], s.sum[:]) {
		s.fi = fi
		return false
	}
	return true
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

func (s *Service) reload(why string) {
	log := s.cfg.Proxy.Logger
	if err := s.Reload(); err != nil {
		s.reloads.WithLabelValues("failure").Inc()
		s.lastOK.Set(0)
		log.Error("config reload rejected; the previous configuration stays", "trigger", why, "err", err)
		return
	}
	s.reloads.WithLabelValues("success").Inc()
	s.lastOK.Set(1)
	log.Info("config reloaded", "trigger", why, "file", s.cfg.File)
}
