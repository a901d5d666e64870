package hook

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the hooks' metrics, shared by the Queues of one process; the
// hook label is the Runner's Name, so series are bounded.
type Metrics struct {
	runs    *prometheus.CounterVec
	pending *prometheus.GaugeVec
}

// NewMetrics builds the metrics and registers them on reg unless reg is nil.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podkit_gitsync_hook_runs_total",
			Help: "Completed hook runs, by hook (webhook, exechook) and result (success, error). Runs cut short by shutdown are not counted.",
		}, []string{"hook", "result"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "podkit_gitsync_hook_pending",
			Help: "1 while the newest synced hash has not yet run its hook successfully (waiting, running or retrying), else 0.",
		}, []string{"hook"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.runs, m.pending} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// queueMetrics are one hook's series, looked up once.
type queueMetrics struct {
	ok, failed prometheus.Counter
	pending    prometheus.Gauge
}

func (m *Metrics) forHook(name string) queueMetrics {
	return queueMetrics{
		ok:      m.runs.WithLabelValues(name, "success"),
		failed:  m.runs.WithLabelValues(name, "error"),
		pending: m.pending.WithLabelValues(name),
	}
}
