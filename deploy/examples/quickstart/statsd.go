package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// statsd is how the demo app reports metrics: plain statsd over UDP, fire
// and forget, as most statsd clients do. It knows nothing of Prometheus.
type statsd struct {
	c   net.Conn // nil: no statsd address
	log *slog.Logger
}

func newStatsd(addr string, log *slog.Logger) *statsd {
	s := &statsd{log: log}
	if addr == "" {
		return s
	}
	c, err := net.Dial("udp", addr)
	if err != nil {
		log.Warn("statsd", "err", err)
		return s
	}
	s.c = c
	return s
}

func (s *statsd) Close() {
	if s.c != nil {
		s.c.Close()
	}
}

// count wraps h: app.http.ROUTE.CODE:1|c and app.http.latency.ROUTE:MS|ms
// for every request but /healthz.
func (s *statsd) count(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.c == nil || r.URL.Path == "/healthz" {
			h.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		route, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if route == "" {
			route = "home"
		}
		ms := float64(time.Since(start).Microseconds()) / 1000
		// One datagram, two lines; a lost datagram costs a sample, never
		// the request.
		if _, err := fmt.Fprintf(s.c, "app.http.%s.%d:1|c\napp.http.latency.%s:%g|ms\n", route, sw.code, route, ms); err != nil {
			s.log.Warn("statsd", "err", err)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}
