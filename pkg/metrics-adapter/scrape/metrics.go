package scrape

import "github.com/prometheus/client_golang/prometheus"

// Error reasons of podkit_metrics_adapter_scrape_errors_total. All but
// jsonpath, relabel and invalid fail the scrape (the last good result stays).
const (
	ReasonHTTPStatus    = "http_status"     // a status outside valid_status_codes (default 2xx)
	ReasonTimeout       = "timeout"         // no complete answer within timeout
	ReasonConnect       = "connect"         // any other transport error
	ReasonTooLarge      = "too_large"       // body over body_size_limit
	ReasonParse         = "parse"           // not JSON / not Prometheus or OpenMetrics text
	ReasonTooManySeries = "too_many_series" // over series_limit after relabeling
	ReasonJSONPath      = "jsonpath"        // a JSON value skipped (path failed, not a number)
	ReasonRelabel       = "relabel"         // a series dropped: renamed into a family of another type
	ReasonInvalid       = "invalid"         // a series dropped: invalid name or label, duplicate, type mismatch
)

var reasons = []string{ReasonHTTPStatus, ReasonTimeout, ReasonConnect, ReasonTooLarge, ReasonParse,
	ReasonTooManySeries, ReasonJSONPath, ReasonRelabel, ReasonInvalid}

type metrics struct {
	up, duration, series, lastSuccess *prometheus.GaugeVec
	errors                            *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "podkit_metrics_adapter_scrape_up",
			Help: "1 if the last scrape of the target succeeded, else 0 (its last good result is still served)."}, []string{"scrape"}),
		duration: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "podkit_metrics_adapter_scrape_duration_seconds",
			Help: "Duration of the last scrape of the target, parsing included."}, []string{"scrape"}),
		series: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "podkit_metrics_adapter_scrape_series",
			Help: "Series in the last good result of the target."}, []string{"scrape"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "podkit_metrics_adapter_scrape_last_success_timestamp_seconds",
			Help: "Unix time of the last successful scrape of the target."}, []string{"scrape"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "podkit_metrics_adapter_scrape_errors_total",
			Help: "Scrape errors and dropped values by target and reason."}, []string{"scrape", "reason"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.up, m.duration, m.series, m.lastSuccess, m.errors} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// init creates a target's series so that they exist before the first error.
func (m *metrics) init(name string) {
	m.up.WithLabelValues(name)
	m.duration.WithLabelValues(name)
	m.series.WithLabelValues(name)
	m.lastSuccess.WithLabelValues(name)
	for _, r := range reasons {
		m.errors.WithLabelValues(name, r)
	}
}

func (m *metrics) forget(name string) {
	for _, v := range []*prometheus.GaugeVec{m.up, m.duration, m.series, m.lastSuccess} {
		v.DeleteLabelValues(name)
	}
	m.errors.DeletePartialMatch(prometheus.Labels{"scrape": name})
}
