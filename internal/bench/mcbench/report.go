package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/podkit/podkit/internal/bench/benchkit"
	"github.com/podkit/podkit/internal/bench/mcload/load"
)

// report is everything mcbench measured; -json prints it as it is.
type report struct {
	Versions map[string]string `json:"versions"`
	Cores    int               `json:"cores"`
	Duration string            `json:"duration_per_run"`
	Rounds   int               `json:"rounds"`
	Keys     int               `json:"keys"`
	Value    int               `json:"value_bytes"`
	Targets  []target          `json:"targets"`
	Points   []pointResult     `json:"points"`
	Memory   []memory          `json:"memory"`
	// Failures lists runs whose Result.Check failed; any makes the exit 1.
	Failures []string `json:"failures"`
}

// pointResult holds every run of one point, by target name, and medians.
type pointResult struct {
	Point  point                     `json:"point"`
	Runs   map[string][]*load.Result `json:"runs"`
	Median map[string]summary        `json:"median"`
	Errors map[string]load.Errors    `json:"errors"` // summed over rounds
}

// summary is the median over rounds of one target's figures at one point.
type summary struct {
	OpsPerSec         float64 `json:"ops_per_sec"`
	P99US             float64 `json:"p99_us"`
	CPUSecPerMillion  float64 `json:"cpu_seconds_per_million"` // of Target.PID
	CPUCoreShare      float64 `json:"cpu_core_share"`
	VerificationFails int64   `json:"verification_errors"`
}

// summarize fills medians and error sums, and checks every run the way
// mcload does: verification errors, or other errors past maxErrors, fail.
func (r *report) summarize(maxErrors int64) {
	for i := range r.Points {
		p := &r.Points[i]
		p.Median, p.Errors = map[string]summary{}, map[string]load.Errors{}
		for _, t := range r.Targets {
			var ops, p99, spm, share []float64
			var errs load.Errors
			for round, res := range p.Runs[t.Name] {
				ops = append(ops, res.OpsPerSec)
				p99 = append(p99, res.Latency.All.P99US)
				spm = append(spm, targetCPU(res).SecondsPerMillion)
				share = append(share, targetCPU(res).CoreShare)
				addErrors(&errs, res.Errors)
				if err := res.Check(maxErrors); err != nil {
					r.Failures = append(r.Failures, fmt.Sprintf("round %d, %s, %d conns, %s: %v; first errors: %s",
						round+1, p.Point.workload(), p.Point.Conns, t.Name, err, strings.Join(res.ErrorSamples, "; ")))
				}
			}
			p.Errors[t.Name] = errs
			p.Median[t.Name] = summary{
				OpsPerSec: benchkit.Median(ops), P99US: benchkit.Median(p99), CPUSecPerMillion: benchkit.Median(spm),
				CPUCoreShare: benchkit.Median(share), VerificationFails: errs.Verification(),
			}
		}
	}
}

func addErrors(dst *load.Errors, e load.Errors) {
	dst.WrongKey += e.WrongKey
	dst.Checksum += e.Checksum
	dst.Flags += e.Flags
	dst.Stale += e.Stale
	dst.UnexpectedKey += e.UnexpectedKey
	dst.Protocol += e.Protocol
	dst.Server += e.Server
	dst.NotStored += e.NotStored
	dst.Timeout += e.Timeout
	dst.Conn += e.Conn
	dst.Lost += e.Lost
}

// ratio is a/b as "1.23x", or "-" when b is 0.
func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// writeTable prints the report as markdown tables. Ratios are of the
// medians shown, so that a reader can check them.
func (r *report) writeTable(w io.Writer) error {
	var b strings.Builder
	names := make([]string, len(r.Targets))
	for i, t := range r.Targets {
		names[i] = t.Name
	}
	fmt.Fprintf(&b, "# mcbench: %s\n\n", strings.Join(names, ", "))
	fmt.Fprintf(&b, "get:set 9:1, %d-byte values, %d keys (warmed: gets hit), pipeline 1; %d rounds of %s per target and point, order reversed on odd rounds; medians over rounds. %d cores; ",
		r.Value, r.Keys, r.Rounds, r.Duration, r.Cores)
	var vs []string
	for _, n := range []string{"memcached", "nutcracker", "podkit"} {
		if v := r.Versions[n]; v != "" {
			vs = append(vs, v)
		}
	}
	fmt.Fprintf(&b, "%s. direct is one memcached (the limit); the proxies shard over two (fnv1a_64, ketama, server_connections 1).\n\n", strings.Join(vs, "; "))

	has := func(n string) bool { return slices.Contains(names, n) }
	row := func(cells ...string) { fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | ")) }
	sep := func(n int) { row(slices.Repeat([]string{"---"}, n)...) }
	pointCells := func(p *pointResult) []string {
		return []string{p.Point.workload(), fmt.Sprint(p.Point.Conns)}
	}
	both := has("nutcracker") && has("podkit")

	b.WriteString("## Throughput (ops/s; a multiget is one op)\n\n")
	head := append([]string{"workload", "conns"}, names...)
	if both {
		head = append(head, "podkit/nutcracker")
	}
	for _, n := range names {
		if n != "direct" && has("direct") {
			head = append(head, n+"/direct")
		}
	}
	row(head...)
	sep(len(head))
	for i := range r.Points {
		p := &r.Points[i]
		c := pointCells(p)
		for _, n := range names {
			c = append(c, fmt.Sprintf("%.0f", p.Median[n].OpsPerSec))
		}
		if both {
			c = append(c, ratio(p.Median["podkit"].OpsPerSec, p.Median["nutcracker"].OpsPerSec))
		}
		for _, n := range names {
			if n != "direct" && has("direct") {
				c = append(c, ratio(p.Median[n].OpsPerSec, p.Median["direct"].OpsPerSec))
			}
		}
		row(c...)
	}

	b.WriteString("\n## Latency p99 (us, per request)\n\n")
	head = append([]string{"workload", "conns"}, names...)
	if both {
		head = append(head, "podkit/nutcracker")
	}
	row(head...)
	sep(len(head))
	for i := range r.Points {
		p := &r.Points[i]
		c := pointCells(p)
		for _, n := range names {
			c = append(c, fmt.Sprintf("%.0f", p.Median[n].P99US))
		}
		if both {
			c = append(c, ratio(p.Median["podkit"].P99US, p.Median["nutcracker"].P99US))
		}
		row(c...)
	}

	b.WriteString("\n## Proxy CPU (seconds per million requests; % of one core)\n\n")
	var proxies []string
	for _, t := range r.Targets {
		if t.Proxy {
			proxies = append(proxies, t.Name)
		}
	}
	head = []string{"workload", "conns"}
	for _, n := range proxies {
		head = append(head, n+" s/M", n+" core")
	}
	if both {
		head = append(head, "podkit/nutcracker s/M")
	}
	row(head...)
	sep(len(head))
	for i := range r.Points {
		p := &r.Points[i]
		c := pointCells(p)
		for _, n := range proxies {
			m := p.Median[n]
			c = append(c, fmt.Sprintf("%.2f", m.CPUSecPerMillion), fmt.Sprintf("%.0f%%", 100*m.CPUCoreShare))
		}
		if both {
			c = append(c, ratio(p.Median["podkit"].CPUSecPerMillion, p.Median["nutcracker"].CPUSecPerMillion))
		}
		row(c...)
	}

	b.WriteString("\n## Proxy memory (VmRSS)\n\n")
	row("proxy", "idle, 3 s after start", "right after load", "after settling", "least while settling")
	sep(5)
	for _, m := range r.Memory {
		settled, least := "-", "-"
		if m.SettleSec > 0 {
			settled = fmt.Sprintf("%s (%.0f s)", mib(m.SettledKiB), m.SettleSec)
			least = mib(m.MinKiB)
		}
		row(m.Target, mib(m.IdleKiB), mib(m.LoadedKiB), settled, least)
	}

	b.WriteString("\n## Errors\n\n")
	var any bool
	for i := range r.Points {
		p := &r.Points[i]
		for _, n := range names {
			if e := p.Errors[n]; e.Total() > 0 {
				any = true
				fmt.Fprintf(&b, "- %s, %d conns, %s: %d verification, %d in all (%s)\n",
					p.Point.workload(), p.Point.Conns, n, e.Verification(), e.Total(), e)
			}
		}
	}
	if !any {
		b.WriteString("none: every value read was verified (key, version, checksum, flags)\n")
	}
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "- FAILED %s\n", f)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
