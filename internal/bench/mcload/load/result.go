package load

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Result is one run's figures; its JSON is what a driver compares.
type Result struct {
	Config       Config       `json:"config"`
	Warmup       WarmupResult `json:"warmup"`
	Seconds      float64      `json:"seconds"`       // the measured phase, to the last response
	Ops          int64        `json:"ops"`           // requests answered: a get of 10 keys is one
	Gets         int64        `json:"gets"`          //
	Sets         int64        `json:"sets"`          //
	OpsPerSec    float64      `json:"ops_per_sec"`   //
	KeysPerSec   float64      `json:"keys_per_sec"`  // keys asked for by gets plus keys set
	GetKeys      int64        `json:"get_keys"`      // keys asked for by gets
	Hits         int64        `json:"hits"`          // of those, found
	HitRatio     float64      `json:"hit_ratio"`     //
	Latency      Latencies    `json:"latency"`       // send to complete response, per request
	Errors       Errors       `json:"errors"`        // the warm-up's included
	ErrorSamples []string     `json:"error_samples"` // the first few, described
	Self         ProcUsage    `json:"generator_cpu"` // mcload's own CPU in the measured phase
	Targets      []ProcUsage  `json:"target_cpu"`    // Config.PIDs' CPU in the measured phase
}

// WarmupResult describes the warm-up: every key set once.
type WarmupResult struct {
	Sets    int64   `json:"sets"`
	Seconds float64 `json:"seconds"`
}

// Latencies are per kind of request.
type Latencies struct {
	All Latency `json:"all"`
	Get Latency `json:"get"`
	Set Latency `json:"set"`
}

// ProcUsage is a process's CPU time over the measured phase.
type ProcUsage struct {
	PID               int     `json:"pid,omitempty"`
	Seconds           float64 `json:"seconds"`                  // user + system
	UserSeconds       float64 `json:"user_seconds,omitempty"`   // mcload's own only (getrusage)
	SystemSeconds     float64 `json:"system_seconds,omitempty"` //
	CoreShare         float64 `json:"core_share"`               // of one core: 0.5 is 50%
	SecondsPerMillion float64 `json:"seconds_per_million_ops"`  // CPU seconds per million requests
}

func newProcUsage(pid int, cpu, elapsed time.Duration, ops int64) ProcUsage {
	u := ProcUsage{PID: pid, Seconds: cpu.Seconds()}
	if elapsed > 0 {
		u.CoreShare = cpu.Seconds() / elapsed.Seconds()
	}
	if ops > 0 {
		u.SecondsPerMillion = cpu.Seconds() / float64(ops) * 1e6
	}
	return u
}

func (r *Result) fill(st *stats, elapsed time.Duration) {
	r.Seconds = elapsed.Seconds()
	r.Gets, r.Sets, r.Ops = st.gets, st.sets, st.gets+st.sets
	r.GetKeys, r.Hits = st.getKeys, st.hits
	if r.Seconds > 0 {
		r.OpsPerSec = float64(r.Ops) / r.Seconds
		r.KeysPerSec = float64(r.GetKeys+r.Sets) / r.Seconds
	}
	if r.GetKeys > 0 {
		r.HitRatio = float64(r.Hits) / float64(r.GetKeys)
	}
	var all hist
	all.merge(&st.lat[opGet])
	all.merge(&st.lat[opSet])
	r.Latency = Latencies{All: all.summary(), Get: st.lat[opGet].summary(), Set: st.lat[opSet].summary()}
	r.Errors.add(&st.errs)
	r.ErrorSamples = st.samples
}

// Check returns an error when the run must not count: any verification or
// protocol error, more than maxErrors other errors, or no request answered.
func (r *Result) Check(maxErrors int64) error {
	e := r.Errors
	switch {
	case e.Verification() > 0:
		return fmt.Errorf("%d responses failed verification (%s)", e.Verification(), e)
	case e.Total() > maxErrors:
		return fmt.Errorf("%d errors, more than %d (%s)", e.Total(), maxErrors, e)
	case r.Ops == 0:
		return fmt.Errorf("no request answered")
	}
	return nil
}

// WriteTable writes the result for a person.
func (r *Result) WriteTable(w io.Writer) error {
	c := r.Config
	var b strings.Builder
	mode := c.Duration.String()
	if c.Ops > 0 {
		mode = fmt.Sprintf("%d ops", c.Ops)
		if c.Duration > 0 {
			mode += fmt.Sprintf(" or %s", c.Duration)
		}
	}
	fmt.Fprintf(&b, "mcload %s: %d conns, pipeline %d, get:set %d:%d, multiget %d, %d keys, %d-byte values, %s, seed %d\n",
		strings.Join(c.Addrs, ","), c.Conns, c.Pipeline, c.GetWeight, c.SetWeight, c.Multiget, c.Keys, c.ValueSize, mode, c.Seed)
	if c.Warmup {
		fmt.Fprintf(&b, "  warm-up     %d sets in %.2f s\n", r.Warmup.Sets, r.Warmup.Seconds)
	}
	fmt.Fprintf(&b, "  ops         %d in %.2f s: %.0f ops/s (%d gets, %d sets; %.0f keys/s)\n",
		r.Ops, r.Seconds, r.OpsPerSec, r.Gets, r.Sets, r.KeysPerSec)
	fmt.Fprintf(&b, "  hit ratio   %.4f (%d of %d keys)\n", r.HitRatio, r.Hits, r.GetKeys)
	fmt.Fprintf(&b, "  latency     %10s %10s %10s %10s %10s\n", "p50", "p99", "p99.9", "max", "mean")
	for _, l := range []struct {
		name string
		l    Latency
	}{{"all", r.Latency.All}, {"get", r.Latency.Get}, {"set", r.Latency.Set}} {
		fmt.Fprintf(&b, "    %-9s %10s %10s %10s %10s %10s\n", l.name, us(l.l.P50US), us(l.l.P99US), us(l.l.P999US), us(l.l.MaxUS), us(l.l.MeanUS))
	}
	fmt.Fprintf(&b, "  errors      %d verification, %d in all (%s)\n", r.Errors.Verification(), r.Errors.Total(), r.Errors)
	for _, s := range r.ErrorSamples {
		fmt.Fprintf(&b, "    %s\n", s)
	}
	fmt.Fprintf(&b, "  cpu mcload  %.2f s (user %.2f, sys %.2f): %.1f%% of a core, %.2f s per million ops\n",
		r.Self.Seconds, r.Self.UserSeconds, r.Self.SystemSeconds, 100*r.Self.CoreShare, r.Self.SecondsPerMillion)
	for _, t := range r.Targets {
		fmt.Fprintf(&b, "  cpu pid %-4d %.2f s: %.1f%% of a core, %.2f s per million ops\n",
			t.PID, t.Seconds, 100*t.CoreShare, t.SecondsPerMillion)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func us(v float64) string {
	if v >= 10000 {
		return fmt.Sprintf("%.1f ms", v/1000)
	}
	return fmt.Sprintf("%.0f us", v)
}
