package metricsadapter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/podkit/podkit/internal/reload"
	"github.com/podkit/podkit/pkg/metrics-adapter/graphite"
	"github.com/podkit/podkit/pkg/metrics-adapter/listen"
	"github.com/podkit/podkit/pkg/metrics-adapter/mapping"
	"github.com/podkit/podkit/pkg/metrics-adapter/scrape"
	"github.com/podkit/podkit/pkg/metrics-adapter/series"
	"github.com/podkit/podkit/pkg/metrics-adapter/statsd"
)

// Adapter reads statsd and Graphite into one series store and serves it,
// with the scraped endpoints, on one /metrics. It is a daemon component
// (Name, Run, Ready).
type Adapter struct {
	cfg      Config
	store    *series.Store
	mapper   atomic.Pointer[mapping.Mapper] // statsd's
	gmapper  atomic.Pointer[mapping.Mapper] // graphite's; nil: none
	file     *reload.File                   // statsd mapping; nil: none
	gfile    *reload.File                   // graphite mapping; nil: none
	sfile    *reload.File                   // scrape config; nil: none
	scraper  *scrape.Scraper                // nil: no scrapes
	client   *http.Client                   // the scraper's; its idle connections are closed when Run returns
	reloader *reload.Reloader
	stats    *stats
	cached   atomic.Int64 // mapping cache entries of all statsd readers
	sets     *sets
	handler  http.Handler

	mu       sync.Mutex       // guards the listeners below until Run
	bound    bool             // Listen succeeded: a second call does nothing
	statsdL  *listen.Listener // nil: no statsd input
	graphL   *listen.Listener // nil: no graphite input
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
	a.sets = newSets(a)
	if _, err := statsd.New(a.parserConfig()); err != nil {
		return nil, err
	}
	mp, err := readMapping(&a.file, cfg.MappingFile, cfg.Mapping)
	if err != nil {
		return nil, err
	}
	if mp == nil {
		mp, _ = mapping.Parse(nil)
	}
	a.mapper.Store(mp)
	a.stats.mappings.Store(int64(mp.Len()))
	gmp, err := readMapping(&a.gfile, cfg.GraphiteMappingFile, cfg.GraphiteMapping)
	if err != nil {
		return nil, err
	}
	a.gmapper.Store(gmp)
	if cfg.ScrapeFile != "" || len(cfg.Scrapes) > 0 {
		if cfg.ScrapeFile != "" {
			a.sfile = &reload.File{Path: cfg.ScrapeFile, Max: scrape.MaxConfigSize}
		}
		sc, err := a.scrapeConfig()
		if err != nil {
			return nil, err
		}
		a.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		if a.scraper, err = scrape.New(sc, scrape.Options{Client: a.client, Logger: cfg.Logger, Registry: cfg.Registry}); err != nil {
			return nil, &FileError{File: cfg.ScrapeFile, Err: err}
		}
	}
	store, err := series.New(series.Config{MaxSeries: cfg.MaxSeries, Registry: cfg.Registry})
	if err != nil {
		return nil, err
	}
	a.store = store
	a.reloader = &reload.Reloader{Apply: a.Reload, Signals: cfg.Reload, Interval: cfg.WatchInterval, Logger: cfg.Logger}
	for _, f := range []*reload.File{a.file, a.gfile, a.sfile} {
		if f != nil {
			a.reloader.Files = append(a.reloader.Files, f)
		}
	}
	if err := a.reloader.Register(cfg.Registry); err != nil {
		return nil, err
	}
	if err := cfg.Registry.Register(collector{a}); err != nil {
		return nil, err
	}
	if a.scraper != nil {
		a.handler = store.Handler(a.scraper, cfg.Registry)
	} else {
		a.handler = store.Handler(cfg.Registry)
	}
	return a, nil
}

func (a *Adapter) parserConfig() statsd.Config {
	return statsd.Config{DisabledTags: a.cfg.StatsdDisabledTags, Sets: a.cfg.StatsdSets, Limits: a.cfg.StatsdLimits}
}

// readMapping reads a mapping file into *f (a new reload.File), or returns
// the given mapper when there is no file.
func readMapping(f **reload.File, path string, given *mapping.Mapper) (*mapping.Mapper, error) {
	if path == "" {
		return given, nil
	}
	*f = &reload.File{Path: path, Max: mapping.MaxConfigSize}
	return parseMapping(*f)
}

// readFile reads f; an error is a FileError naming it once.
func readFile(f *reload.File) ([]byte, error) {
	data, err := f.Read()
	if err != nil {
		return nil, &FileError{File: f.Path, Err: err}
	}
	return data, nil
}

func parseMapping(f *reload.File) (*mapping.Mapper, error) {
	data, err := readFile(f)
	if err != nil {
		return nil, err
	}
	mp, err := mapping.Parse(data)
	if err != nil {
		return nil, &FileError{File: f.Path, Err: err}
	}
	return mp, nil
}

// scrapeConfig reads the scrape file (if any) and merges the flags.
func (a *Adapter) scrapeConfig() (*scrape.Config, error) {
	sc := &scrape.Config{}
	if a.sfile != nil {
		data, err := readFile(a.sfile)
		if err != nil {
			return nil, err
		}
		if sc, err = scrape.ParseConfig(data); err != nil {
			return nil, &FileError{File: a.sfile.Path, Err: err}
		}
	}
	if err := sc.AddFlags(a.cfg.Scrapes); err != nil {
		return nil, &FileError{File: a.cfg.ScrapeFile, Err: err}
	}
	return sc, nil
}

// FileError is a configuration file that was rejected.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string {
	if e.File == "" {
		return e.Err.Error()
	}
	return e.File + ": " + e.Err.Error()
}
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
	if a.bound {
		return nil
	}
	var ls []*listen.Listener
	fail := func(err error) error {
		for _, l := range ls {
			l.Close()
		}
		return err
	}
	if a.cfg.StatsdUDPAddr != "" || a.cfg.StatsdTCPAddr != "" || a.cfg.StatsdUnixgramPath != "" {
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
		ls = append(ls, l)
		a.statsdL = l
	}
	if a.cfg.GraphiteAddr != "" {
		// One UDP socket: Graphite senders are few and batch over TCP.
		l, err := listen.Listen(listen.Config{
			UDPAddr:       a.cfg.GraphiteAddr,
			TCPAddr:       a.cfg.GraphiteAddr,
			Sockets:       1,
			ReadBuffer:    a.cfg.ReadBuffer,
			MaxPacketSize: graphiteBatch,
			MaxLineLength: graphite.DefaultMaxLineLength,
			NewHandler:    a.newGraphiteHandler,
		})
		if err != nil {
			a.statsdL = nil
			return fail(fmt.Errorf("graphite: %w", err))
		}
		ls = append(ls, l)
		a.graphL = l
	}
	if a.cfg.MetricsAddr != "" {
		hl, err := net.Listen("tcp", a.cfg.MetricsAddr)
		if err != nil {
			a.statsdL, a.graphL = nil, nil
			return fail(err)
		}
		a.httpL = hl
	}
	a.bound = true
	return nil
}

// listeners returns the bound input listeners.
func (a *Adapter) listeners() []*listen.Listener {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ls []*listen.Listener
	for _, l := range []*listen.Listener{a.statsdL, a.graphL} {
		if l != nil {
			ls = append(ls, l)
		}
	}
	return ls
}

// Addrs are the bound addresses, for logs and tests (nil when off).
type Addrs struct {
	StatsdUDP, StatsdTCP, Graphite, Metrics net.Addr
}

// Addrs returns the bound addresses; the graphite one is its TCP address
// (UDP has the same port when it was given).
func (a *Adapter) Addrs() Addrs {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ad Addrs
	if a.statsdL != nil {
		ad.StatsdUDP, ad.StatsdTCP = a.statsdL.UDPAddr(), a.statsdL.TCPAddr()
	}
	if a.graphL != nil {
		ad.Graphite = a.graphL.TCPAddr()
	}
	if a.httpL != nil {
		ad.Metrics = a.httpL.Addr()
	}
	return ad
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for _, l := range a.listeners() {
		in := "statsd"
		if l == a.graphL {
			in = "graphite"
		}
		for _, s := range l.Sockets() {
			log.Info("listening", "input", in, "network", s.Network, "addr", s.Addr, "rcvbuf", s.RcvBuf, "forced", s.Forced)
		}
		if t := l.TCPAddr(); t != nil {
			log.Info("listening", "input", in, "network", "tcp", "addr", t.String())
		}
		wg.Go(func() {
			if err := l.Run(ctx); err != nil {
				errc <- err
				cancel()
			}
		})
	}
	wg.Go(func() { a.store.Run(ctx, time.Second) })
	if a.cfg.StatsdSets {
		wg.Go(func() { a.sets.run(ctx, a.cfg.StatsdSetWindow) })
	}
	if a.scraper != nil {
		wg.Go(func() {
			if err := a.scraper.Run(ctx); err != nil {
				errc <- err
				cancel()
			}
		})
	}
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
	// Each listener's Run closes it on ctx.Done; closing it here could
	// beat a Run that has not started yet, which then fails.
	wg.Wait()
	if a.client != nil {
		a.client.CloseIdleConnections() // the scrapes' keep-alive connections
	}
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// Reload re-reads the statsd and Graphite mapping files and the scrape
// file, all or nothing: a bad file is rejected and the running
// configuration stays. Readers pick up a new mapping with their next
// sample.
func (a *Adapter) Reload() error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	var mp, gmp *mapping.Mapper
	var err error
	if a.file != nil {
		if mp, err = parseMapping(a.file); err != nil {
			return err
		}
	}
	if a.gfile != nil {
		if gmp, err = parseMapping(a.gfile); err != nil {
			return err
		}
	}
	// Every file parsed: apply them together; the scraper checks its
	// configuration before it changes anything.
	if a.sfile != nil {
		sc, err := a.scrapeConfig()
		if err != nil {
			return err
		}
		if err := a.scraper.Reload(sc); err != nil {
			return &FileError{File: a.sfile.Path, Err: err}
		}
	}
	if mp != nil {
		a.mapper.Store(mp)
		a.stats.mappings.Store(int64(mp.Len()))
	}
	if gmp != nil {
		a.gmapper.Store(gmp)
	}
	return nil
}
