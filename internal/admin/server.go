// Package admin is the one HTTP server every podkit daemon exposes: the
// paper's "upward" management API (Burns & Oppenheimer 2016, section 3):
// health, readiness, Prometheus metrics and profiling, plus pages that
// components add.
package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Bounds on what a client may send the admin server.
const (
	maxHeaderBytes = 16 << 10
	maxBodyBytes   = 1 << 20
)

// Config configures the admin server.
type Config struct {
	Addr     string       // host:port; port 0 picks a free port
	Logger   *slog.Logger // nil: slog.Default()
	Version  string       // reported by podkit_build_info
	Commit   string
	Registry *prometheus.Registry // nil: a new registry with Go and process collectors
}

// A Check reports nil when healthy; its error says why not. Checks run on the
// request path, so they must return at once: components keep state current in
// the background and checks read it.
type Check struct {
	Name string
	Fn   func() error
}

// Server is the admin HTTP server.
type Server struct {
	cfg      Config
	log      *slog.Logger
	reg      *prometheus.Registry
	mux      *http.ServeMux
	srv      *http.Server
	ln       net.Listener
	draining atomic.Bool

	mu    sync.RWMutex
	live  []Check
	ready []Check
	pages []page
}

type page struct{ path, desc string }

// New builds the server and its routes; it does no I/O.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, log: cfg.Logger, reg: cfg.Registry, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.reg == nil {
		s.reg = newRegistry(cfg.Version, cfg.Commit)
	}
	s.routes()
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s
}

// Registry is where components register their metrics.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Handler serves the admin routes; for tests and embedding.
func (s *Server) Handler() http.Handler { return s.mux }

// AddLiveness adds a check to /healthz. Liveness should fail only when a
// restart would help: never because a dependency is down.
func (s *Server) AddLiveness(name string, fn func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live = append(s.live, Check{name, fn})
}

// AddReadiness adds a check to /readyz.
func (s *Server) AddReadiness(name string, fn func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ready = append(s.ready, Check{name, fn})
}

// SetDraining makes /readyz fail from now on: the process is stopping and
// should get no new traffic.
func (s *Server) SetDraining() { s.draining.Store(true) }

// Listen binds the address, so a port clash fails before anything starts.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("admin: listen %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address; nil before Listen.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve serves until Shutdown; it returns nil after a Shutdown.
func (s *Server) Serve() error {
	if s.ln == nil {
		return errors.New("admin: Serve before Listen")
	}
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("admin: %w", err)
	}
	return nil
}

// Shutdown stops accepting requests and waits for those in flight until ctx
// ends or Close is called.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// Close drops every connection at once, in-flight requests included.
func (s *Server) Close() error { return s.srv.Close() }
