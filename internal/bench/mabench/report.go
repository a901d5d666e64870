package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/podkit/podkit/internal/bench/benchkit"
)

// report is everything mabench measured; -json prints it as it is.
type report struct {
	Versions    map[string]string `json:"versions"`
	Cores       int               `json:"cores"`
	RmemDefault int               `json:"rmem_default"`
	RmemMax     int               `json:"rmem_max"`
	LoadNice    int               `json:"load_generator_nice"` // the servers run at 0
	Targets     []string          `json:"targets"`
	Options     publicOptions     `json:"options"`
	Searches    []search          `json:"udp_searches"`
	CPU         []fixed           `json:"udp_cpu_runs"`
	TCP         []fixed           `json:"tcp_runs"`
	Memory      []memory          `json:"memory"`
	Seconds     float64           `json:"seconds"` // the whole bench
}

// publicOptions are the options a reader needs to repeat the run.
type publicOptions struct {
	Rounds       int     `json:"rounds"`
	Step         string  `json:"step"`
	Steps        int     `json:"steps"`
	Buffers      []int   `json:"buffers"`
	Series       int     `json:"series"`
	Size         int     `json:"size"`
	OneLine      bool    `json:"one_line"`
	Sockets      int     `json:"sockets"`
	MaxLoss      float64 `json:"max_loss"`
	CPURate      float64 `json:"cpu_rate"`
	CPUDuration  string  `json:"cpu_duration"`
	TCPDuration  string  `json:"tcp_duration"`
	MemSeries    []int   `json:"mem_series"`
	Scrapes      int     `json:"scrapes"`
	TimerSeries  int     `json:"timer_series"`
	TimerScrapes int     `json:"timer_scrapes"`
}

func (o options) public() publicOptions {
	return publicOptions{
		Rounds: o.rounds, Step: o.step.String(), Steps: o.steps, Buffers: o.buffers, Series: o.series, Size: o.size,
		OneLine: o.oneLine, Sockets: o.sockets, MaxLoss: o.maxLoss, CPURate: o.cpuRate, CPUDuration: o.cpuDuration.String(),
		TCPDuration: o.tcpDuration.String(), MemSeries: o.memSeries, Scrapes: o.scrapes, TimerSeries: o.timerSeries, TimerScrapes: o.timerScrapes,
	}
}

const (
	pk = "podkit"
	se = "statsd_exporter"
)

// ratio is a/b as "1.23x", or "-" when either is 0.
func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// goal says whether podkit/statsd_exporter a/b meets want (at least when
// atLeast, else at most).
func goal(a, b, want float64, atLeast bool) string {
	if a == 0 || b == 0 {
		return "-"
	}
	r := a / b
	if (atLeast && r >= want) || (!atLeast && r <= want) {
		return "met"
	}
	return "MISSED"
}

func rate(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fk", v/1000)
}

// writeTable prints the report as markdown tables. Ratios and goals are of
// the medians shown, so that a reader can check them.
func (r *report) writeTable(w io.Writer) error {
	var b strings.Builder
	both := slices.Contains(r.Targets, pk) && slices.Contains(r.Targets, se)
	o := r.Options
	row := func(cells ...string) { fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | ")) }
	sep := func(n int) { row(slices.Repeat([]string{"---"}, n)...) }
	head := func(first ...string) []string {
		h := append(slices.Clone(first), r.Targets...)
		if both {
			h = append(h, "podkit/statsd_exporter", "goal")
		}
		row(h...)
		sep(len(h))
		return h
	}
	// cells are the targets' figures, then the ratio and the goal's verdict.
	cells := func(first []string, v map[string]float64, format func(float64) string, want float64, atLeast bool, goalName string) {
		c := slices.Clone(first)
		for _, n := range r.Targets {
			c = append(c, format(v[n]))
		}
		if both {
			verdict := "-"
			if goalName != "" {
				verdict = goalName + ": " + goal(v[pk], v[se], want, atLeast)
			}
			c = append(c, ratio(v[pk], v[se]), verdict)
		}
		row(c...)
	}

	fmt.Fprintf(&b, "# mabench: %s\n\n", strings.Join(r.Targets, " vs "))
	var vs []string
	for _, n := range r.Targets {
		vs = append(vs, n+": "+r.Versions[n])
	}
	packing := fmt.Sprintf("%d-byte datagrams", o.Size)
	if o.OneLine {
		packing = "one line per datagram"
	}
	fmt.Fprintf(&b, "%s. %d cores, shared by the servers and the load generator (statsdload's engine in this process, one sending goroutine, at nice %d, the servers at 0; its CPU is in the log lines). "+
		"UDP: counter lines, %d series (DogStatsD tag), %s from %d source ports. net.core.rmem_default %d, rmem_max %d "+
		"(statsd_exporter's SO_RCVBUF is capped by rmem_max, podkit's SO_RCVBUFFORCE is not; the kernel doubles either). "+
		"%d rounds, the order of targets reversed on even rounds; medians over rounds. Bench time %.0f s.\n",
		strings.Join(vs, "; "), r.Cores, r.LoadNice, o.Series, packing, o.Sockets, r.RmemDefault, r.RmemMax, o.Rounds, r.Seconds)

	// Highest lossless UDP rate, per buffer.
	fmt.Fprintf(&b, "\n## Highest UDP rate with loss under %.2g%% (lines/s; search steps of %s)\n\n", 100*o.MaxLoss, o.Step)
	head("read buffer")
	for _, buf := range o.Buffers {
		v := map[string]float64{}
		var rounds []string
		for _, n := range r.Targets {
			var best []float64
			var each []string
			for _, s := range r.Searches {
				if s.Target == n && s.Buffer == buf {
					best = append(best, s.Best)
					e := rate(s.Best)
					if s.Capped {
						e = ">=" + e
					}
					each = append(each, e)
				}
			}
			v[n] = benchkit.Median(best)
			rounds = append(rounds, n+" "+strings.Join(each, ", "))
		}
		cells([]string{bufName(buf)}, v, rate, 2, true, ">= 2x")
		fmt.Fprintf(&b, "|  rounds: %s |\n", strings.Join(rounds, "; "))
	}
	b.WriteString("\nLoss is of the lines counted in /metrics, so it takes in the kernel's drops (/proc/net/udp, in the log lines) and the server's own " +
		"(statsd_exporter drops datagrams when its queue is full: statsd_exporter_udp_packet_drops_total). \">=\": the sender's limit, not the server's; " +
		"a round with no lossless step counts as 0.\n")

	// CPU per million lines.
	b.WriteString("\n## Server CPU seconds per million lines (/proc/PID/stat utime+stime)\n\n")
	head("load")
	cpuOf := func(runs []fixed, buf int) map[string]float64 {
		v := map[string]float64{}
		for _, n := range r.Targets {
			var x []float64
			for _, f := range runs {
				if f.Target == n && (buf == 0 || f.Buffer == buf) {
					x = append(x, f.CPUPerM)
				}
			}
			v[n] = benchkit.Median(x)
		}
		return v
	}
	f2 := func(v float64) string {
		if v == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", v)
	}
	for _, buf := range o.Buffers {
		cells([]string{fmt.Sprintf("UDP %s lines/s, buffer %s", rate(o.CPURate), bufName(buf))}, cpuOf(r.CPU, buf), f2, 0.5, false, "<= 0.5x")
	}
	for _, buf := range o.Buffers {
		v := map[string]float64{}
		for _, n := range r.Targets {
			var x []float64
			for _, s := range r.Searches {
				if s.Target == n && s.Buffer == buf && s.BestCPU > 0 {
					x = append(x, s.BestCPU)
				}
			}
			v[n] = benchkit.Median(x)
		}
		cells([]string{"UDP at its highest lossless rate, buffer " + bufName(buf)}, v, f2, 0, false, "")
	}
	if len(r.TCP) > 0 {
		cells([]string{"TCP flat out, one connection"}, cpuOf(r.TCP, 0), f2, 0, false, "")

		b.WriteString("\n## TCP, one connection, flat out (lines/s, from the first byte until all were counted)\n\n")
		head("load")
		v := map[string]float64{}
		for _, n := range r.Targets {
			var x []float64
			for _, f := range r.TCP {
				if f.Target == n {
					x = append(x, f.Rate)
				}
			}
			v[n] = benchkit.Median(x)
		}
		cells([]string{fmt.Sprintf("%s, %d series", o.TCPDuration, o.Series)}, v, rate, 0, false, "")
	}

	// Memory.
	b.WriteString("\n## Server memory (VmRSS; series loaded over TCP, two lines each)\n\n")
	head("state")
	kib := func(v float64) string {
		if v == 0 {
			return "-"
		}
		return mib(int64(v))
	}
	byKind := func(kind string) map[string]memory {
		m := map[string]memory{}
		for _, x := range r.Memory {
			if x.Kind == kind {
				m[x.Target] = x
			}
		}
		return m
	}
	for _, kind := range []string{"counter", "timer"} {
		m := byKind(kind)
		if len(m) == 0 {
			continue
		}
		v := func(f func(memory) int64) map[string]float64 {
			out := map[string]float64{}
			for n, x := range m {
				out[n] = float64(f(x))
			}
			return out
		}
		idle := "idle, 3 s after start"
		if kind != "counter" {
			idle += " (fresh servers for the " + kind + " run)"
		}
		cells([]string{idle}, v(func(x memory) int64 { return x.IdleKiB }), kib, 0, false, "")
		first := m[r.Targets[0]] // every target loads the same counts
		for i, l := range first.Loaded {
			g, want := "", 0.0
			if i == len(first.Loaded)-1 {
				g, want = "<= 0.5x", 0.5
			}
			cells([]string{fmt.Sprintf("%d %s series", l.Series, kind)}, v(func(x memory) int64 { return x.Loaded[i].KiB }), kib, want, false, g)
		}
		n := len(first.ScrapedKiB)
		last := v(func(x memory) int64 { return x.ScrapedKiB[len(x.ScrapedKiB)-1] })
		cells([]string{fmt.Sprintf("after %d more scrapes", n)}, last, kib, 0.5, false, "<= 0.5x")
		maxOf := v(func(x memory) int64 { return slices.Max(x.ScrapedKiB) })
		cells([]string{"most while scraping"}, maxOf, kib, 0, false, "")
		var growth []string
		for _, t := range r.Targets {
			x := m[t]
			loadedKiB := x.Loaded[len(x.Loaded)-1].KiB
			d := x.ScrapedKiB[len(x.ScrapedKiB)-1] - loadedKiB
			verdict := "flat"
			if float64(d) > 0.1*float64(loadedKiB) {
				verdict = "GROWING"
			}
			growth = append(growth, fmt.Sprintf("%s %+.1f MiB over %d scrapes (%s; %d scrapes before)", t, float64(d)/1024, n, verdict, x.Loaded[len(x.Loaded)-1].Scrapes))
		}
		fmt.Fprintf(&b, "|  %s growth: %s |\n", kind, strings.Join(growth, "; "))
	}
	b.WriteString("\nflat: RSS after the scrapes within 10% of RSS before them.\n")

	// Scrape time.
	b.WriteString("\n## /metrics scrape time (Accept-Encoding: gzip, request to last byte; median, min-max)\n\n")
	head("series")
	for _, kind := range []string{"counter", "timer"} {
		m := byKind(kind)
		if len(m) == 0 {
			continue
		}
		v := map[string]float64{}
		var detail []string
		series := 0
		for _, t := range r.Targets {
			x := m[t]
			v[t] = benchkit.Median(x.ScrapeSec)
			series = x.Loaded[len(x.Loaded)-1].Series
			detail = append(detail, fmt.Sprintf("%s %.3f-%.3f s, %.1f MB gzipped", t, slices.Min(x.ScrapeSec), slices.Max(x.ScrapeSec), float64(x.WireBytes)/1e6))
		}
		sec := func(f float64) string { return fmt.Sprintf("%.3f s", f) }
		cs := []string{fmt.Sprintf("%d %s", series, kind)}
		for _, t := range r.Targets {
			cs = append(cs, sec(v[t]))
		}
		if both {
			verdict := "-"
			if kind == "counter" {
				verdict = "< 0.15 s: MISSED"
				if v[pk] > 0 && v[pk] < 0.15 {
					verdict = "< 0.15 s: met"
				}
			}
			cs = append(cs, ratio(v[pk], v[se]), verdict)
		}
		row(cs...)
		fmt.Fprintf(&b, "|  %s |\n", strings.Join(detail, "; "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
