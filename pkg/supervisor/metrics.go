package supervisor

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	restarts     prometheus.Counter
	exits        *prometheus.CounterVec
	forwarded    *prometheus.CounterVec
	orphans      prometheus.Counter
	escalations  prometheus.Counter
	hookRuns     *prometheus.CounterVec
	hookDuration *prometheus.HistogramVec
	output       [2]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, s *Supervisor) (*metrics, error) {
	output := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "podkit_run_child_output_bytes_total",
		Help: "Bytes the child wrote to its stdout and stderr (captured output only).",
	}, []string{"stream"})
	m := &metrics{
		restarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podkit_run_child_restarts_total",
			Help: "Times the child was started again by the restart policy.",
		}),
		exits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podkit_run_child_exits_total",
			Help: "Child exits; result is success for exit status 0, failure otherwise (death by signal included).",
		}, []string{"result"}),
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podkit_run_signals_forwarded_total",
			Help: "Signals sent to the child: forwarded, the stop signal, and those asked for over HTTP.",
		}, []string{"signal"}),
		orphans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podkit_run_orphans_reaped_total",
			Help: "Orphaned descendants of the child reaped by podkit (as PID 1 or child subreaper).",
		}),
		escalations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "podkit_run_stop_escalations_total",
			Help: "Stops where the grace period ran out and the child's process group got SIGKILL.",
		}),
		hookRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podkit_run_hook_runs_total",
			Help: "Lifecycle hook runs by hook (post-start, pre-stop) and result (ok, error, timeout).",
		}, []string{"hook", "result"}),
		hookDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "podkit_run_hook_duration_seconds",
			Help:    "How long lifecycle hooks took.",
			Buckets: []float64{.005, .025, .1, .5, 1, 2.5, 5, 10, 30},
		}, []string{"hook"}),
	}
	for i, name := range streamNames {
		m.output[i] = output.WithLabelValues(name)
	}
	for _, r := range []string{"success", "failure"} {
		m.exits.WithLabelValues(r)
	}
	for _, h := range []string{hookPostStart, hookPreStop} {
		for _, r := range []string{"ok", "error", "timeout"} {
			m.hookRuns.WithLabelValues(h, r)
		}
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{m.restarts, m.exits, m.forwarded, m.orphans, m.escalations, m.hookRuns, m.hookDuration, newChildCollector(s)}
	if s.logs != nil {
		cs = append(cs, output)
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) exit(e Exit) {
	if e.ExitCode() == 0 {
		m.exits.WithLabelValues("success").Inc()
	} else {
		m.exits.WithLabelValues("failure").Inc()
	}
}

// childCollector reads the running child's /proc entries at scrape time.
type childCollector struct {
	s                                   *Supervisor
	proc                                string
	cpu, rss, fds, uptime, up, lastCode *prometheus.Desc
}

func newChildCollector(s *Supervisor) *childCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &childCollector{
		s:    s,
		proc: "/proc",
		cpu: d("podkit_run_child_cpu_seconds_total",
			"User and system CPU time of the child and the descendants it waited for, summed over every start (/proc/PID/stat, wait4)."),
		rss:      d("podkit_run_child_resident_memory_bytes", "Resident memory of the running child (/proc/PID/stat); 0 when none runs."),
		fds:      d("podkit_run_child_open_fds", "Open file descriptors of the running child (/proc/PID/fd); 0 when none runs."),
		uptime:   d("podkit_run_child_uptime_seconds", "Seconds since the running child started; 0 when none runs."),
		up:       d("podkit_run_child_up", "1 while a child runs, 0 otherwise."),
		lastCode: d("podkit_run_child_last_exit_code", "Exit code of the last child that exited, 128+N after death by signal N; absent before the first exit."),
	}
}

func (c *childCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.cpu, c.rss, c.fds, c.uptime, c.up, c.lastCode} {
		ch <- d
	}
}

func (c *childCollector) Collect(ch chan<- prometheus.Metric) {
	c.s.mu.Lock()
	st, cpu := c.s.st, c.s.cpuPast
	c.s.mu.Unlock()
	var rss, fds, uptime, up float64
	if st.PID != 0 {
		up = 1
		uptime = time.Since(st.StartedAt).Seconds()
		if ps, err := readProcStat(c.proc, st.PID); err == nil {
			cpu += ps.cpu
			rss = float64(ps.rss)
			fds = float64(max(ps.openFD, 0))
		}
	}
	ch <- prometheus.MustNewConstMetric(c.cpu, prometheus.CounterValue, cpu.Seconds())
	ch <- prometheus.MustNewConstMetric(c.rss, prometheus.GaugeValue, rss)
	ch <- prometheus.MustNewConstMetric(c.fds, prometheus.GaugeValue, fds)
	ch <- prometheus.MustNewConstMetric(c.uptime, prometheus.GaugeValue, uptime)
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
	if st.LastExit != nil {
		ch <- prometheus.MustNewConstMetric(c.lastCode, prometheus.GaugeValue, float64(st.LastExit.ExitCode()))
	}
}
