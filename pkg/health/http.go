package health

import (
	"encoding/json"
	"net/http"
)

// Admin is the part of podkit's admin server the checker plugs into;
// internal/admin's *Server satisfies it.
type Admin interface {
	Handle(path, desc string, h http.Handler)
	AddLiveness(name string, fn func() error)
}

// Mount adds the liveness checks to /healthz and the /checks page. Readiness
// comes from Ready, which the daemon adds to /readyz for every component.
func (c *Checker) Mount(a Admin) {
	a.AddLiveness(c.Name(), c.Live)
	a.Handle("/checks", "every check: status, last error, latency, thresholds (JSON)", c.Handler())
}

// Handler serves /checks: JSON detail of every check, from cached state.
func (c *Checker) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			StartupDone bool          `json:"startup_done"`
			Checks      []CheckStatus `json:"checks"`
		}{c.StartupDone(), c.Checks()})
	})
}
