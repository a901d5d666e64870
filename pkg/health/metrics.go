package health

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	up          *prometheus.GaugeVec
	duration    *prometheus.HistogramVec
	failures    *prometheus.CounterVec
	transitions *prometheus.CounterVec
}

// newMetrics builds the checker's metrics and registers them on reg unless
// reg is nil. Labels are check names and kinds from the configuration: bounded.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "podkit_health_check_up",
			Help: "1 while the check's verdict is ok, 0 while failing or not yet decided.",
		}, []string{"check", "kind"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "podkit_health_check_duration_seconds",
			Help: "How long each probe took, failed ones included.",
			// Local probes take well under a millisecond; timeouts end at seconds.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"check"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podkit_health_check_failures_total",
			Help: "Probes that failed (error, bad status or timeout).",
		}, []string{"check"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podkit_health_check_transitions_total",
			Help: "Verdict changes, by the status changed to (ok or failing).",
		}, []string{"check", "to"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.up, m.duration, m.failures, m.transitions} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// checkMetrics are one check's series, looked up once rather than per probe.
type checkMetrics struct {
	up              prometheus.Gauge
	duration        prometheus.Observer
	failures        prometheus.Counter
	toOK, toFailing prometheus.Counter
}

func (m *metrics) forCheck(name string, kind Kind) checkMetrics {
	return checkMetrics{
		up:        m.up.WithLabelValues(name, string(kind)),
		duration:  m.duration.WithLabelValues(name),
		failures:  m.failures.WithLabelValues(name),
		toOK:      m.transitions.WithLabelValues(name, string(StatusOK)),
		toFailing: m.transitions.WithLabelValues(name, string(StatusFailing)),
	}
}
