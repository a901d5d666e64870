package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Options are the Scraper's process-wide settings.
type Options struct {
	Client    *http.Client          // nil: a client with http.DefaultTransport's settings
	Logger    *slog.Logger          // nil: slog.Default()
	Registry  prometheus.Registerer // nil: self-metrics not registered
	UserAgent string                // "": podkit-metrics-adapter
}

// Scraper scrapes the targets of a Config and serves their last good
// results as a prometheus.Gatherer.
type Scraper struct {
	client  *http.Client
	log     *slog.Logger
	metrics *metrics
	ua      string

	mu      sync.Mutex
	targets map[string]*target // the current configuration
	running bool
	changed chan struct{} // Reload -> Run, buffered 1
}

// target is a compiled target and its last good result.
type target struct {
	cfg *compiled

	mu       sync.Mutex
	last     []*dto.MetricFamily // nil until the first good scrape
	attempts int
}

var (
	_ prometheus.Gatherer = (*Scraper)(nil)
	// ErrRunning is returned by a second concurrent Run.
	ErrRunning = errors.New("scrape: already running")
)

// New validates cfg (every target needs a URL by now) and registers the
// self-metrics; no I/O, no goroutines.
func New(cfg *Config, opts Options) (*Scraper, error) {
	targets, err := compileConfig(cfg)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, fmt.Errorf("scrape: metrics: %w", err)
	}
	s := &Scraper{client: opts.Client, log: opts.Logger, metrics: m, ua: opts.UserAgent,
		targets: targets, changed: make(chan struct{}, 1)}
	if s.client == nil {
		s.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "metrics-adapter-scrape")
	if s.ua == "" {
		s.ua = "podkit-metrics-adapter"
	}
	for name := range targets {
		m.init(name)
	}
	return s, nil
}

func compileConfig(cfg *Config) (map[string]*target, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	targets := map[string]*target{}
	for _, name := range cfg.names() {
		t := cfg.Scrapes[name]
		if t == nil {
			t = &Target{}
		}
		c, err := compileTarget(name, t, cfg.lines[name], true)
		if err != nil {
			return nil, err
		}
		targets[name] = &target{cfg: c}
	}
	return targets, nil
}

// Name implements daemon.Component.
func (s *Scraper) Name() string { return "metrics-adapter-scrape" }

// Reload replaces the configuration atomically: an invalid cfg returns an
// error and changes nothing. Targets whose section is unchanged keep their
// loop and last good result; changed and new targets start empty and are
// scraped at once by a running Run; removed targets disappear with their
// self-metrics.
func (s *Scraper) Reload(cfg *Config) error {
	next, err := compileConfig(cfg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	for name, t := range s.targets {
		if n, ok := next[name]; ok && n.cfg.same(t.cfg) {
			next[name] = t
		} else if !ok {
			s.metrics.forget(name)
		}
	}
	for name, t := range next {
		if old, ok := s.targets[name]; !ok || old != t {
			s.metrics.forget(name)
			s.metrics.init(name)
		}
	}
	s.targets = next
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return nil
}

// Run scrapes each target at once and then every interval until ctx is
// cancelled, then returns nil. Scrape failures are counted and logged, never
// returned.
func (s *Scraper) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return ErrRunning
	}
	s.running = true
	s.mu.Unlock()
	type loop struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	loops := map[*target]loop{}
	apply := func() {
		s.mu.Lock()
		current := map[*target]bool{}
		for _, t := range s.targets {
			current[t] = true
		}
		s.mu.Unlock()
		for t, l := range loops {
			if !current[t] {
				l.cancel()
				<-l.done
				delete(loops, t)
			}
		}
		for t := range current {
			if _, ok := loops[t]; !ok {
				lctx, cancel := context.WithCancel(ctx)
				l := loop{cancel, make(chan struct{})}
				loops[t] = l
				go func() {
					defer close(l.done)
					s.loop(lctx, t)
				}()
			}
		}
	}
	apply()
	for {
		select {
		case <-ctx.Done():
			for _, l := range loops {
				l.cancel()
			}
			for _, l := range loops {
				<-l.done
			}
			s.mu.Lock()
			s.running = false
			s.mu.Unlock()
			return nil
		case <-s.changed:
			apply()
		}
	}
}

func (s *Scraper) loop(ctx context.Context, t *target) {
	tick := time.NewTicker(t.cfg.interval)
	defer tick.Stop()
	for {
		_ = s.scrape(ctx, t)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Scrape scrapes one target now (outside its schedule) and returns the
// error that a scheduled scrape would count.
func (s *Scraper) Scrape(ctx context.Context, name string) error {
	s.mu.Lock()
	t := s.targets[name]
	s.mu.Unlock()
	if t == nil {
		return fmt.Errorf("scrape: no scrape %q", name)
	}
	return s.scrape(ctx, t)
}

func (s *Scraper) scrape(ctx context.Context, t *target) error {
	c := t.cfg
	start := time.Now()
	fams, counts, err := s.fetch(ctx, c)
	dur := time.Since(start)
	if ctx.Err() != nil && err != nil {
		return nil // shutting down or reloaded: not the target's fault
	}
	for r, n := range counts {
		if n > 0 {
			s.metrics.errors.WithLabelValues(c.name, r).Add(float64(n))
		}
	}
	s.metrics.duration.WithLabelValues(c.name).Set(dur.Seconds())
	t.mu.Lock()
	t.attempts++
	if err == nil {
		t.last = fams
	}
	t.mu.Unlock()
	if err != nil {
		reason := ReasonConnect
		var se *scrapeError
		if errors.As(err, &se) {
			reason = se.reason
		}
		s.metrics.errors.WithLabelValues(c.name, reason).Inc()
		s.metrics.up.WithLabelValues(c.name).Set(0)
		err = fmt.Errorf("scrape %s: %s: %w", c.name, c.url.Redacted(), err)
		s.log.Warn("scrape failed; serving the last good result", "scrape", c.name, "reason", reason, "err", err)
		return err
	}
	s.metrics.up.WithLabelValues(c.name).Set(1)
	s.metrics.series.WithLabelValues(c.name).Set(float64(countSeries(fams)))
	s.metrics.lastSuccess.WithLabelValues(c.name).Set(float64(time.Now().UnixNano()) / 1e9)
	s.log.Debug("scraped", "scrape", c.name, "series", countSeries(fams), "duration", dur)
	return nil
}

// fetch requests the target and processes its body. Errors never carry the
// URL's userinfo or a header value.
func (s *Scraper) fetch(ctx context.Context, c *compiled) ([]*dto.MetricFamily, map[string]int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url.String(), nil)
	if err != nil {
		return nil, nil, &scrapeError{ReasonConnect, errors.New("invalid request")}
	}
	req.Header = c.header.Clone()
	if req.Header.Get("Accept") == "" {
		if c.format == FormatJSON {
			req.Header.Set("Accept", "application/json") // as json_exporter
		} else {
			req.Header.Set("Accept", acceptHeader)
		}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", s.ua)
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", fmt.Sprintf("%g", c.timeout.Seconds()))
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL may hold a user name
		}
		if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
			return nil, nil, &scrapeError{ReasonTimeout, fmt.Errorf("no answer within %s", c.timeout)}
		}
		return nil, nil, &scrapeError{ReasonConnect, err}
	}
	defer resp.Body.Close()
	if !statusOK(resp.StatusCode, c.validCodes) {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, nil, &scrapeError{ReasonHTTPStatus, fmt.Errorf("status %s", resp.Status)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.bodyLimit+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, &scrapeError{ReasonTimeout, fmt.Errorf("body not read within %s", c.timeout)}
		}
		return nil, nil, &scrapeError{ReasonConnect, fmt.Errorf("reading body: %w", err)}
	}
	if int64(len(body)) > c.bodyLimit {
		return nil, nil, &scrapeError{ReasonTooLarge, fmt.Errorf("body over body_size_limit %d bytes", c.bodyLimit)}
	}
	return c.process(body, resp.Header.Get("Content-Type"))
}

func statusOK(code int, valid []int) bool {
	if len(valid) == 0 {
		return code/100 == 2
	}
	return slices.Contains(valid, code)
}

// Ready is nil once every target has been tried once (a failed target does
// not hold readiness back: its up metric says so).
func (s *Scraper) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, t := range s.targets {
		t.mu.Lock()
		n := t.attempts
		t.mu.Unlock()
		if n == 0 {
			return fmt.Errorf("scrape %s: not scraped yet", name)
		}
	}
	return nil
}

// Gather implements prometheus.Gatherer: the last good results of all
// targets, merged and sorted by client_golang's Gatherers. A name two
// targets expose with different types or help is an error naming it, with
// the rest returned, as prometheus.Gatherers does.
func (s *Scraper) Gather() ([]*dto.MetricFamily, error) {
	s.mu.Lock()
	names := make([]string, 0, len(s.targets))
	for n := range s.targets {
		names = append(names, n)
	}
	slices.Sort(names)
	gs := make(prometheus.Gatherers, 0, len(names))
	for _, n := range names {
		t := s.targets[n]
		t.mu.Lock()
		last := t.last
		t.mu.Unlock()
		if len(last) > 0 {
			gs = append(gs, prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return last, nil }))
		}
	}
	s.mu.Unlock()
	if len(gs) == 1 {
		fams, err := gs[0].Gather() // normalized when scraped
		return slices.Clone(fams), err
	}
	return gs.Gather()
}
