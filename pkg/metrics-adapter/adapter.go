package metricsadapter

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podkit/podkit/internal/reload"
	"github.com/podkit/podkit/pkg/metrics-adapter/listen"
	"github.com/podkit/podkit/pkg/metrics-adapter/mapping"
	"github.com/podkit/podkit/pkg/metrics-adapter/series"
	"github.com/podkit/podkit/pkg/metrics-adapter/statsd"
)

// Adapter reads statsd into one series store and serves it. It is a
// daemon component (Name, Run, Ready).
type Adapter struct {
	cfg      Config
	store    *series.Store
	mapper   atomic.Pointer[mapping.Mapper]
	file     *reload.File
	reloader *reload.Reloader
	stats    *stats
	handler  http.Handler

	mu       sync.Mutex // guards the listeners below until Run
	statsdL  *listen.Listener
	httpL    net.Listener
	serving  atomic.Bool
	reloadMu sync.Mutex
}

// New validates cfg, reads the mapping file and registers the adapter's
// metrics; it binds nothing (see Listen).
func New(cfg Config) (*Adapter, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	a := &Adapter{cfg: cfg, stats: newStats()}
	if _, err := statsd.New(a.parserConfig()); err != nil {
		return nil, err
	}
	mp := cfg.Mapping
	if cfg.MappingFile != "" {
		a.file = &reload.File{Path: cfg.MappingFile, Max: mapping.MaxConfigSize}
		var err error
		if mp, err = a.readMapping(); err != nil {
			return nil, err
		}
	}
	if mp == nil {
		mp, _ = mapping.Parse(nil)
	}
	a.mapper.Store(mp)
	a.stats.mappings.Store(int64(mp.Len()))
	store, err := series.New(series.Config{MaxSeries: cfg.MaxSeries, Registry: cfg.Registry})
	if err != nil {
		return nil, err
	}
	a.store = store
	a.reloader = &reload.Reloader{Apply: a.Reload, Signals: cfg.Reload, Interval: cfg.WatchInterval, Logger: cfg.Logger}
	if a.file != nil {
		a.reloader.Files = []*reload.File{a.file}
	}
	if err := a.reloader.Register(cfg.Registry); err != nil {
		return nil, err
	}
	if err := cfg.Registry.Register(collector{a}); err != nil {
		return nil, err
	}
	a.handler = store.Handler(cfg.Registry)
	return a, nil
}

func (a *Adapter) parserConfig() statsd.Config {
	return statsd.Config{DisabledTags: a.cfg.StatsdDisabledTags, Limits: a.cfg.StatsdLimits}
}

func (a *Adapter) readMapping() (*mapping.Mapper, error) {
	data, err := a.file.Read()
	if err != nil {
		if pe, ok := errors.AsType[*os.PathError](err); ok {
			err = pe.Err
		}
		return nil, &FileError{File: a.file.Path, Err: err}
	}
	mp, err := mapping.Parse(data)
	if err != nil {
		return nil, &FileError{File: a.file.Path, Err: err}
	}
	return mp, nil
}

// FileError is a configuration file that was rejected.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Name implements the daemon component interface.
func (a *Adapter) Name() string { return "metrics-adapter" }

// Store is the series store, for library users who feed it themselves.
func (a *Adapter) Store() *series.Store { return a.store }

// Handler serves /metrics: the adapted series, then the adapter's own.
func (a *Adapter) Handler() http.Handler { return a.handler }

// Listen binds every input and the metrics address, so that a clash fails
// before anything runs. Run calls it when the caller has not.
func (a *Adapter) Listen() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.statsdL != nil {
		return nil
	}
	l, err := listen.Listen(listen.Config{
		UDPAddr:       a.cfg.StatsdUDPAddr,
		TCPAddr:       a.cfg.StatsdTCPAddr,
		UnixgramPath:  a.cfg.StatsdUnixgramPath,
		UnixgramMode:  a.cfg.StatsdUnixgramMode,
		Sockets:       a.cfg.UDPSockets,
		ReadBuffer:    a.cfg.ReadBuffer,
		MaxPacketSize: a.cfg.StatsdLimits.MaxPacketSize,
		MaxLineLength: a.cfg.StatsdLimits.MaxLineLength,
		NewHandler:    a.newStatsdHandler,
	})
	if err != nil {
		return err
	}
	if a.cfg.MetricsAddr != "" {
		hl, err := net.Listen("tcp", a.cfg.MetricsAddr)
		if err != nil {
			l.Close()
			return err
		}
		a.httpL = hl
	}
	a.statsdL = l
	return nil
}

// Addrs are the bound addresses, for logs and tests: statsd UDP, statsd
// TCP, metrics (nil when off).
func (a *Adapter) Addrs() (udp, tcp, metrics net.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.statsdL != nil {
		udp, tcp = a.statsdL.UDPAddr(), a.statsdL.TCPAddr()
	}
	if a.httpL != nil {
		metrics = a.httpL.Addr()
	}
	return udp, tcp, metrics
}

// Ready is nil once the inputs are bound and /metrics is served.
func (a *Adapter) Ready() error {
	if !a.serving.Load() {
		return errors.New("metrics-adapter: not listening yet")
	}
	return nil
}

// Run reads the inputs, expires idle series, serves /metrics and reloads
// the mapping until ctx is done.
func (a *Adapter) Run(ctx context.Context) error {
	if err := a.Listen(); err != nil {
		return err
	}
	log := a.cfg.Logger
	for _, s := range a.statsdL.Sockets() {
		log.Info("statsd listening", "network", s.Network, "addr", s.Addr, "rcvbuf", s.RcvBuf, "forced", s.Forced)
	}
	if t := a.statsdL.TCPAddr(); t != nil {
		log.Info("statsd listening", "network", "tcp", "addr", t.String())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Go(func() {
		if err := a.statsdL.Run(ctx); err != nil {
			errc <- err
			cancel()
		}
	})
	wg.Go(func() { a.store.Run(ctx, time.Second) })
	wg.Go(func() { a.reloader.Run(ctx) })
	if a.httpL != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", a.handler)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
		log.Info("serving /metrics", "addr", a.httpL.Addr().String())
		wg.Go(func() {
			if err := srv.Serve(a.httpL); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
				cancel()
			}
		})
		wg.Go(func() {
			<-ctx.Done()
			sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			defer c()
			_ = srv.Shutdown(sctx)
		})
	}
	a.serving.Store(true)
	<-ctx.Done()
	a.serving.Store(false)
	a.statsdL.Close()
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// Reload re-reads the mapping file: a bad file is rejected and the
// running mapping stays. Readers pick up the new mapping with their next
// sample.
func (a *Adapter) Reload() error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	if a.file == nil {
		return nil // nothing to re-read: the mapping came with the Config
	}
	mp, err := a.readMapping()
	if err != nil {
		return err
	}
	a.mapper.Store(mp)
	a.stats.mappings.Store(int64(mp.Len()))
	return nil
}
