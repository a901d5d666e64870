package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// appMode re-runs this executable as the demo app, so the app is a real
// separate process (own pid, signals, exit code) like a container, without a
// second binary to build.
const appMode = "-app"

const appPage = `podkit quickstart demo app

GET /         this page
GET /healthz  200 ok (what podkit probe checks)
GET /work     does 0-50 ms of "work"
GET /cache/K  the same work, cached under K for 60 s in memcache, through
              podkit memcache-proxy on 127.0.0.1 (a miss works, a hit does not)
GET /site/    static files from git/html in the pod volume, which podkit
              gitsync keeps in sync with a git repository

Every request but /healthz is counted and timed in statsd, which podkit
metrics-adapter serves as Prometheus metrics, and logged to a file, which
podkit logsaver ships. SIGHUP reopens the file, as logrotate expects.
`

func runApp(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	cacheAddr := fs.String("memcache", "", "memcache address (podkit memcache-proxy); empty: no cache")
	statsdAddr := fs.String("statsd", "", "statsd UDP address (podkit metrics-adapter); empty: no metrics")
	logPath := fs.String("log-file", "", "request log file, appended to (podkit logsaver ships it); empty: none")
	site := fs.String("site", "", "directory served at /site/ (podkit gitsync's link); empty: none")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	// Before any signal can arrive: without a handler, SIGHUP would kill
	// the app.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var reqLog *slog.Logger // the file's, nil without -log-file
	var lf *logFile
	if *logPath != "" {
		var err error
		if lf, err = openLogFile(*logPath); err != nil {
			log.Error("open", "err", err)
			return 1
		}
		defer lf.Close()
		reqLog = slog.New(slog.NewTextHandler(lf, nil))
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, appPage)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /work", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, work()+"\n")
	})
	if *site != "" {
		// Each request opens the files through the link, so it sees the
		// tree gitsync last swapped in, whole.
		mux.Handle("GET /site/", http.StripPrefix("/site/", http.FileServer(http.Dir(*site))))
	}
	c := &cache{addr: *cacheAddr, log: log}
	mux.HandleFunc("GET /cache/{key}", c.serve)
	st := newStatsd(*statsdAddr, log)
	defer st.Close()
	srv := &http.Server{Addr: *addr, Handler: logRequests(log, reqLog, st.count(mux)), ReadHeaderTimeout: 5 * time.Second}

	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("listening", "addr", *addr)
serve:
	for {
		select {
		case err := <-errc:
			log.Error("serve", "err", err)
			return 1
		case <-hup:
			if lf == nil {
				log.Info("SIGHUP: no log file to reopen")
				continue
			}
			if err := lf.reopen(); err != nil {
				log.Error("SIGHUP: reopen", "err", err)
				continue
			}
			log.Info("SIGHUP: reopened log file", "path", *logPath)
		case <-ctx.Done():
			break serve
		}
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// cache is the app's use of its ambassador: it talks to "a single memcache
// on localhost" and never learns how many memcached are behind it.
type cache struct {
	addr string // "" when the demo runs without memcached
	log  *slog.Logger
}

const cacheTTL = 60 * time.Second

func (c *cache) serve(w http.ResponseWriter, r *http.Request) {
	key := "work:" + r.PathValue("key")
	if !validKey(key) {
		http.Error(w, "bad key: at most 245 bytes, no spaces or control characters", http.StatusBadRequest)
		return
	}
	if c.addr == "" {
		fmt.Fprintf(w, "no cache (the demo runs without memcached): %s\n", work())
		return
	}
	start := time.Now()
	m, err := mcDial(r.Context(), c.addr)
	if err != nil {
		// A cache that is down costs time, not correctness.
		c.log.Warn("memcache", "err", err)
		fmt.Fprintf(w, "cache unavailable (%v): %s\n", err, work())
		return
	}
	defer m.Close()
	v, hit, err := m.get(key)
	switch {
	case err != nil:
		c.log.Warn("memcache get", "key", key, "err", err)
		fmt.Fprintf(w, "cache error (%v): %s\n", err, work())
	case hit:
		fmt.Fprintf(w, "hit: %s (from memcache via %s in %s)\n", v, c.addr, time.Since(start).Round(time.Microsecond))
	default:
		v := work()
		if err := m.set(key, []byte(v), cacheTTL); err != nil {
			c.log.Warn("memcache set", "key", key, "err", err)
			fmt.Fprintf(w, "miss: %s; not stored: %v\n", v, err)
			return
		}
		fmt.Fprintf(w, "miss: %s; stored in memcache via %s for %s\n", v, c.addr, cacheTTL)
	}
}

// work is what /work and a cache miss cost.
func work() string {
	d := rand.N(50 * time.Millisecond)
	time.Sleep(d)
	return fmt.Sprintf("worked for %s", d.Round(time.Microsecond))
}

// logRequests logs all but /healthz, which probes would flood the log with,
// to stderr and, when file is not nil, to the request log file. The file's
// line is written before the response goes out (a small response is sent
// only once the handler returns), so a client that got its answer finds
// the line in the file.
func logRequests(log, file *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		if r.URL.Path == "/healthz" {
			return
		}
		args := []any{"method", r.Method, "path", r.URL.Path, "took", time.Since(start).Round(time.Microsecond)}
		log.Info("request", args...)
		if file != nil {
			file.Info("request", args...)
		}
	})
}
