package supervisor

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Admin is the part of podkit's admin server the supervisor plugs into;
// internal/admin's *Server satisfies it.
type Admin interface {
	Handle(path, desc string, h http.Handler)
	HandleMutating(path, desc string, h http.Handler)
}

const defaultTail = 100

// Mount adds the supervisor's pages: /lifecycle, /config, /logs (unless
// NoCapture) and the downward API, POST /lifecycle/stop and
// POST /lifecycle/signal?name=SIG.
func (s *Supervisor) Mount(a Admin) {
	a.Handle("/lifecycle", "the child's lifecycle: state, pid, restarts, last exit (JSON)", http.HandlerFunc(s.serveLifecycle))
	a.Handle("/config", "the child's argv, the names (not values) of its environment, and the supervisor's settings (JSON)", http.HandlerFunc(s.serveConfig))
	if s.logs != nil {
		a.Handle("/logs", "the child's recent output: ?tail=N (default 100, all), ?stream=stdout|stderr, ?format=json", http.HandlerFunc(s.serveLogs))
	}
	a.HandleMutating("/lifecycle/stop", "graceful stop, as SIGTERM: pre-stop hook, stop signal, grace period, SIGKILL", http.HandlerFunc(s.serveStop))
	a.HandleMutating("/lifecycle/signal", "send ?name=SIG (HUP, USR1, RTMIN+3, 10...) to the child", http.HandlerFunc(s.serveSignal))
}

type exitJSON struct {
	ExitCode   int     `json:"exit_code"`
	Status     string  `json:"status"`
	Signal     string  `json:"signal,omitempty"`
	At         string  `json:"at"`
	RanSeconds float64 `json:"ran_seconds"`
}

type lifecycleJSON struct {
	State         State     `json:"state"`
	PID           int       `json:"pid,omitempty"`
	StartedAt     string    `json:"started_at,omitempty"`
	UptimeSeconds float64   `json:"uptime_seconds,omitempty"`
	Restarts      int       `json:"restarts"`
	LastExit      *exitJSON `json:"last_exit,omitempty"`
	NextRestartAt string    `json:"next_restart_at,omitempty"`
	StopCause     string    `json:"stop_cause,omitempty"`
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func (s *Supervisor) serveLifecycle(w http.ResponseWriter, _ *http.Request) {
	st := s.Status()
	out := lifecycleJSON{State: st.State, PID: st.PID, Restarts: st.Restarts, NextRestartAt: stamp(st.NextRestart), StopCause: st.StopCause}
	if st.PID != 0 {
		out.StartedAt = stamp(st.StartedAt)
		out.UptimeSeconds = time.Since(st.StartedAt).Seconds()
	}
	if e := st.LastExit; e != nil {
		out.LastExit = &exitJSON{ExitCode: e.ExitCode(), Status: e.String(), At: stamp(st.LastExitAt), RanSeconds: st.LastRan.Seconds()}
		if e.Signal != 0 {
			out.LastExit.Signal = SignalName(e.Signal)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Supervisor) serveConfig(w http.ResponseWriter, _ *http.Request) {
	c := s.cfg
	var names []string
	for _, kv := range c.Env {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	slices.Sort(names)
	writeJSON(w, http.StatusOK, map[string]any{
		"argv":                c.Argv,
		"env":                 slices.Compact(names), // names only: values may be secrets
		"stop_signal":         SignalName(c.StopSignal),
		"grace_period":        c.GracePeriod.String(),
		"signal_group":        c.SignalGroup,
		"post_start":          c.PostStart.String(),
		"pre_stop":            c.PreStop.String(),
		"hook_timeout":        c.HookTimeout.String(),
		"restart":             c.Restart,
		"max_restarts":        c.MaxRestarts,
		"restart_backoff":     c.RestartBackoff.String(),
		"restart_backoff_max": c.RestartBackoffMax.String(),
		"capture":             !c.NoCapture,
		"log_buffer_bytes":    c.LogBufferBytes,
		"subreaper":           !c.NoSubreaper,
	})
}

func (s *Supervisor) serveLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n := defaultTail
	if t := q.Get("tail"); t == "all" {
		n = -1
	} else if t != "" {
		v, err := strconv.Atoi(t)
		if err != nil || v < 0 {
			http.Error(w, "tail: want a number >= 0 or all", http.StatusBadRequest)
			return
		}
		n = v
	}
	stream := -1
	switch q.Get("stream") {
	case "":
	case "stdout":
		stream = stdout
	case "stderr":
		stream = stderr
	default:
		http.Error(w, "stream: want stdout or stderr", http.StatusBadRequest)
		return
	}
	lines := s.logs.tail(n, stream)
	w.Header().Set("Cache-Control", "no-store")
	switch q.Get("format") {
	case "", "text":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		var b strings.Builder
		for _, l := range lines {
			b.WriteString(l.text)
			b.WriteByte('\n')
		}
		_, _ = w.Write([]byte(b.String()))
	case "json":
		type lineJSON struct {
			Time   string `json:"time"`
			Stream string `json:"stream"`
			Line   string `json:"line"`
		}
		out := make([]lineJSON, 0, len(lines))
		for _, l := range lines {
			out = append(out, lineJSON{stamp(l.at), streamNames[l.stream], l.text})
		}
		writeJSON(w, http.StatusOK, out)
	default:
		http.Error(w, "format: want text or json", http.StatusBadRequest)
	}
}

func (s *Supervisor) serveStop(w http.ResponseWriter, r *http.Request) {
	if err := s.Stop(r.Context(), "POST /lifecycle/stop"); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"stop": "requested"})
}

func (s *Supervisor) serveSignal(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		http.Error(w, "name: want a signal, e.g. ?name=HUP", http.StatusBadRequest)
		return
	}
	sig, err := ParseSignal(name)
	if err != nil {
		http.Error(w, "name: "+err.Error(), http.StatusBadRequest)
		return
	}
	pid, err := s.Signal(r.Context(), sig)
	switch {
	case errors.Is(err, ErrNoChild):
		http.Error(w, err.Error(), http.StatusConflict)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"signal": SignalName(sig), "pid": pid})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
