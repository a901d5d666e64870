package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/podkit/podkit/internal/bench/benchkit"
	"github.com/podkit/podkit/internal/logtest"
)

// report is everything logbench measured; -json prints it as it is.
type report struct {
	Version    string        `json:"podkit_version"`
	Cores      int           `json:"cores"`
	Options    publicOptions `json:"options"`
	Throughput []tput        `json:"throughput"`
	Faults     []fault       `json:"faults"`
	Seconds    float64       `json:"seconds"`  // the whole bench
	Failures   int           `json:"failures"` // podkit runs that lost lines or did not stop cleanly
}

// publicOptions are the options a reader needs to repeat the run.
type publicOptions struct {
	Targets     []string `json:"targets"`
	Sinks       []string `json:"sinks"`
	Scenarios   []string `json:"scenarios"`
	Lines       int64    `json:"lines"`
	Rounds      int      `json:"rounds"`
	LineSize    int      `json:"line_size"`
	Rate        float64  `json:"rate"`
	Duration    string   `json:"duration"`
	RotateEvery string   `json:"rotate_every"`
	Kills       int      `json:"kills"`
	Down        string   `json:"down"`
	Outage      string   `json:"outage"`
	OutageRate  float64  `json:"outage_rate"`
	MaxBuffer   string   `json:"max_buffer"`
	Settle      string   `json:"settle"`
	PodkitArgs  []string `json:"podkit_args"`
}

func (o options) public() publicOptions {
	return publicOptions{Targets: o.targets, Sinks: o.sinks, Scenarios: o.scenarios, Lines: o.lines, Rounds: o.rounds,
		LineSize: o.lineSize, Rate: o.rate, Duration: o.duration.String(), RotateEvery: o.rotateEvery.String(), Kills: o.kills,
		Down: o.down.String(), Outage: o.outage.String(), OutageRate: o.outageRate, MaxBuffer: o.maxBuffer,
		Settle: o.settle.String(), PodkitArgs: o.extra}
}

// The goals of issue 6.
const (
	goalRate    = 1e6 // lines/s, at least
	goalCPUPerM = 0.5 // CPU seconds per million lines, at most
	goalRSSKiB  = 30 << 10
)

// bad reports whether a sink's result is a failure: a line lost, a record
// not valid NDJSON, a .tmp left after a clean stop.
func (r sinkResult) bad() bool { return r.Report.Missing > 0 || r.Bad > 0 || r.Tmp > 0 }

func (r *report) failures() int {
	n := 0
	for _, t := range r.Throughput {
		if t.Target != tPodkit {
			continue
		}
		if !t.Complete || t.Exit != 0 || slices.ContainsFunc(t.Results, sinkResult.bad) {
			n++
		}
	}
	for _, f := range r.Faults {
		if f.Target == tPodkit && (f.Exit != 0 || slices.ContainsFunc(f.Results, sinkResult.bad)) {
			n++
		}
	}
	return n
}

func shipperName(t string) string {
	if t == tReference {
		return "reference (naive)"
	}
	return t
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func mib(kib int64) string {
	if kib <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}

func lines(v float64) string {
	if v >= 1e6 {
		return fmt.Sprintf("%.2fM", v/1e6)
	}
	return fmt.Sprintf("%.0fk", v/1e3)
}

// lost is "0", or the missing count, its share and the first missing line.
func lost(rep logtest.Report) string {
	if rep.Missing == 0 {
		return "0"
	}
	return fmt.Sprintf("**%d (%.2f%%, first seq %d)**", rep.Missing, 100*float64(rep.Missing)/float64(max(rep.Expected, 1)), rep.FirstMissing)
}

// writeTable prints the report as markdown tables.
func (r *report) writeTable(w io.Writer) error {
	var b strings.Builder
	o := r.Options
	row := func(cells ...string) { fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | ")) }
	sep := func(n int) { row(slices.Repeat([]string{"---"}, n)...) }

	fmt.Fprintf(&b, "# logbench: podkit logsaver (issue 6)\n\n")
	v := r.Version
	if v == "" {
		v = "podkit not run"
	}
	fmt.Fprintf(&b, "%s. %d cores, shared by the shipper and logbench (the http receiver, a logtest.Receiver on a loopback listener, "+
		"and the file sink's line counting run in this process). %d-byte numbered lines, shipped as NDJSON records. Bench time %.0f s.\n\n",
		v, r.Cores, o.LineSize, r.Seconds)
	b.WriteString("Reference (issue 6, measured with a ~200-line Go tail→HTTP shipper): 1.9 M lines/s as raw 1 MiB batches (0.18 CPU-s per million, 17 MiB RSS), " +
		"1.0 M lines/s as NDJSON records (0.56 CPU-s per million); it lost 0.24% of lines under copytruncate and 20% across a kill -9. " +
		"\"reference (naive)\" rows are logbench's own such shipper (naive.go: polling tail, NDJSON POSTs, retry, no checkpoint, a restart starts at the end), run the same way.\n")

	if len(r.Throughput) > 0 {
		fmt.Fprintf(&b, "\n## Throughput: a backlog of %d lines, process start to last line delivered (medians over %d rounds)\n\n", o.Lines, o.Rounds)
		h := []string{"sink", "shipper", "lines/s", "CPU-s per M lines", "peak RSS", "logbench CPU-s per M", "lost", "duplicates",
			"goals: ≥ 1M lines/s, ≤ 0.5 CPU-s/M, < 30 MiB, 0 lost"}
		row(h...)
		sep(len(h))
		for _, sink := range o.Sinks {
			for _, t := range o.Targets {
				var runs []tput
				for _, x := range r.Throughput {
					if x.Sink == sink && x.Target == t {
						runs = append(runs, x)
					}
				}
				if len(runs) == 0 {
					continue
				}
				med := func(f func(tput) float64) float64 {
					var v []float64
					for _, x := range runs {
						v = append(v, f(x))
					}
					return benchkit.Median(v)
				}
				rate := med(func(x tput) float64 { return x.Rate })
				cpu := med(func(x tput) float64 { return x.CPUPerM })
				peak := int64(med(func(x tput) float64 { return float64(x.PeakKiB) }))
				bench := med(func(x tput) float64 { return x.BenchCPU / (float64(x.Lines) / 1e6) })
				var missing, dups int64
				var each []string
				clean := true
				for _, x := range runs {
					for _, sr := range x.Results {
						missing += sr.Report.Missing
						dups += sr.Report.Duplicates
						clean = clean && !sr.bad()
					}
					clean = clean && x.Complete && x.Exit == 0
					e := lines(x.Rate)
					if !x.Complete {
						e += " (incomplete)"
					}
					if x.Exit != 0 {
						e += fmt.Sprintf(" (exit %d)", x.Exit)
					}
					each = append(each, e)
				}
				goals := "reference"
				if t == tPodkit {
					goals = strings.Join([]string{verdict(rate >= goalRate), verdict(cpu <= goalCPUPerM), verdict(peak < goalRSSKiB), verdict(clean)}, ", ")
				}
				lostCell := "0"
				if missing > 0 {
					lostCell = fmt.Sprintf("**%d**", missing)
				}
				row(sink, shipperName(t), lines(rate), fmt.Sprintf("%.2f", cpu), mib(peak), fmt.Sprintf("%.2f", bench), lostCell, fmt.Sprint(dups), goals)
				fmt.Fprintf(&b, "|  rounds: %s |\n", strings.Join(each, ", "))
			}
		}
		b.WriteString("\nlines/s counts from the process's start (readiness included). CPU: /proc/PID/stat utime+stime at the last line; peak RSS: VmHWM. " +
			"\"lost\" and \"duplicates\" are summed over rounds, from the sink's own count after a SIGTERM stop (the file sink's finished files re-read whole).\n")
	}

	if len(r.Faults) > 0 {
		fmt.Fprintf(&b, "\n## Fault scenarios: zero loss (%s lines/s for %s, rotation every %s; kill9: %d kill -9s, restarted %s later with the same --state-dir; "+
			"outages: %s lines/s, the http sink down %s from %s, podkit --max-buffer-bytes %s)\n\n",
			lines(o.Rate), o.Duration, o.RotateEvery, o.Kills, o.Down, lines(o.OutageRate), o.Outage, "-duration/6", o.MaxBuffer)
		h := []string{"scenario", "shipper", "--path", "sink", "written", "lost", "duplicates", "starts", "peak RSS", "catch-up", "missing at stop", "zero loss"}
		row(h...)
		sep(len(h))
		for _, f := range r.Faults {
			for i, sr := range f.Results {
				ok := !sr.bad() && f.Exit == 0
				g := verdict(ok)
				atStop := "0"
				if len(f.MissingAtStop) > i && f.MissingAtStop[i] > 0 {
					atStop = fmt.Sprintf("**%d**, delivered by a restart in %.1f s", f.MissingAtStop[i], f.RecoverySec)
					if ok {
						g = "met, but LATE"
					}
				}
				if f.Target != tPodkit {
					g = "reference: " + map[bool]string{true: "no loss", false: "lost lines"}[sr.Report.Missing == 0]
				}
				extra := ""
				if sr.Bad > 0 || sr.Tmp > 0 {
					extra = fmt.Sprintf(" (%d bad records, %d .tmp left)", sr.Bad, sr.Tmp)
				}
				if f.Exit != 0 {
					extra += fmt.Sprintf(" (exit %d)", f.Exit)
				}
				row(f.Scenario, shipperName(f.Target), "`"+f.Path+"`", sr.Sink, fmt.Sprint(f.Written), lost(sr.Report)+extra,
					fmt.Sprint(sr.Report.Duplicates), fmt.Sprint(f.Starts), mib(f.PeakKiB), fmt.Sprintf("%.1f s", f.CatchUpSec), atStop, g)
			}
		}
		b.WriteString("\nlost: written and never delivered (first missing sequence number); duplicates are allowed only from batches in flight at a kill. " +
			"catch-up: from the writer's last line until every sink had them all (or -settle without progress, then SIGTERM). " +
			"missing at stop: lines a sink lacked at that SIGTERM; podkit is then started once more with the same --state-dir, and \"lost\" is what still lacks after it " +
			"(LATE: nothing lost, but delivered only after a restart). " +
			"podkit ships to an http and a file sink at once; the reference to http only, following app.log alone.\n")

		var outages []fault
		for _, f := range r.Faults {
			if strings.HasPrefix(f.Scenario, "outage") {
				outages = append(outages, f)
			}
		}
		if len(outages) > 0 {
			b.WriteString("\n## Sink outage: memory stays bounded, the backlog drains\n\n")
			h := []string{"scenario", "shipper", "written while down", "RSS as the sink returned", "peak RSS", "drain after return", "goal: < 30 MiB"}
			row(h...)
			sep(len(h))
			for _, f := range outages {
				drain := fmt.Sprintf("not within the run (%s without progress)", o.Settle)
				if f.DrainSec >= 0 {
					drain = fmt.Sprintf("%.1f s", f.DrainSec)
				}
				g := verdict(f.PeakKiB < goalRSSKiB)
				if f.Target != tPodkit {
					g = "reference"
				}
				row(f.Scenario, shipperName(f.Target), fmt.Sprintf("%.1f MiB", float64(f.BacklogBytes)/(1<<20)), mib(f.OutageEndKiB), mib(f.PeakKiB), drain, g)
			}
			b.WriteString("\ndrain: from the sink's return until the http sink had every line written before it returned.\n")
		}
	}
	if r.Failures > 0 {
		fmt.Fprintf(&b, "\n**%d podkit run(s) lost lines, left bad output or did not exit 0 on SIGTERM.**\n", r.Failures)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
