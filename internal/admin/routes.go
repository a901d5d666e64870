package admin

import (
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/pprof" // handlers mounted on our own mux below; DefaultServeMux is never served
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Server) routes() {
	s.mux.HandleFunc("GET /{$}", s.index)
	s.Handle("/healthz", "liveness: 200 ok, or 503 with the failing checks (alias /livez)", http.HandlerFunc(s.healthz))
	s.mux.HandleFunc("GET /livez", s.healthz)
	s.Handle("/readyz", "readiness; ?verbose lists every check", http.HandlerFunc(s.readyz))
	s.Handle("/metrics", "Prometheus metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		Registry:          s.reg,
	}))
	s.Handle("/debug/pprof/", "Go profiling", http.HandlerFunc(pprof.Index))
	s.mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	s.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	s.mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	s.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}

// Handle serves a read-only page (GET and HEAD) and lists it on the index.
func (s *Server) Handle(path, desc string, h http.Handler) {
	s.mux.Handle("GET "+path, h)
	s.addPage(path, desc)
}

// HandleMutating serves a route that changes state. It takes POST only,
// rejects Host names other than IP literals and localhost (DNS rebinding:
// a browser page cannot make its own host resolve to an IP literal) and
// cross-origin browser requests, and bounds the body.
func (s *Server) HandleMutating(path, desc string, h http.Handler) {
	guarded := http.NewCrossOriginProtection().Handler(checkHost(http.MaxBytesHandler(h, maxBodyBytes)))
	s.mux.Handle("POST "+path, guarded)
	s.addPage(path, desc+" (POST)")
}

func (s *Server) addPage(path, desc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages = append(s.pages, page{path, desc})
}

func checkHost(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		host = strings.Trim(host, "[]")
		if host != "localhost" && net.ParseIP(host) == nil {
			http.Error(w, "admin: host not allowed: "+r.Host, http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, "<!doctype html><title>podkit admin</title><h1>podkit admin</h1><ul>\n")
	for _, p := range s.pages {
		fmt.Fprintf(w, "<li><a href=%q>%s</a> %s</li>\n", p.path, html.EscapeString(p.path), html.EscapeString(p.desc))
	}
	fmt.Fprint(w, "</ul>\n")
}

type checkResult struct {
	Name  string `json:"name"`
	Error string `json:"error,omitempty"`
}

func run(checks []Check) (results []checkResult, failing []checkResult) {
	for _, c := range checks {
		r := checkResult{Name: c.Name}
		if err := c.Fn(); err != nil {
			r.Error = err.Error()
			failing = append(failing, r)
		}
		results = append(results, r)
	}
	return results, failing
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	checks := s.live
	s.mu.RUnlock()
	s.report(w, r, checks, nil)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	checks := s.ready
	s.mu.RUnlock()
	var extra []checkResult
	if s.draining.Load() {
		extra = append(extra, checkResult{Name: "shutdown", Error: "shutting down"})
	}
	s.report(w, r, checks, extra)
}

// report answers 200 "ok" or 503 with a JSON list of failing checks; with
// ?verbose, one "[+]name ok" / "[-]name reason" line per check, as the
// Kubernetes API server and coredns do.
func (s *Server) report(w http.ResponseWriter, r *http.Request, checks []Check, extra []checkResult) {
	results, failing := run(checks)
	results, failing = append(results, extra...), append(failing, extra...)
	w.Header().Set("Cache-Control", "no-store")
	if _, verbose := r.URL.Query()["verbose"]; verbose {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if len(failing) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		for _, c := range results {
			if c.Error == "" {
				fmt.Fprintf(w, "[+]%s ok\n", c.Name)
			} else {
				fmt.Fprintf(w, "[-]%s %s\n", c.Name, c.Error)
			}
		}
		return
	}
	if len(failing) == 0 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "ok\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "failing", "failing": failing})
}
