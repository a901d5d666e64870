package memcacheproxy

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podkit/podkit/pkg/memcache-proxy/protocol"
)

// Error reasons: the bounded values of the reason label of
// podkit_memcache_proxy_server_errors_total.
const (
	reasonTimeout     = "timeout"
	reasonRefused     = "refused"
	reasonReset       = "reset"
	reasonClosed      = "closed"
	reasonBadResponse = "bad_response"
	reasonEjected     = "ejected"
	reasonResolve     = "resolve"
)

var errorReasons = []string{reasonTimeout, reasonRefused, reasonReset, reasonClosed, reasonBadResponse, reasonEjected, reasonResolve}

// metrics are one registry's collectors. Several proxies (one per pool) may
// share a registry: each registers the same collectors and reuses the ones
// registered first, and labels its series with its pool.
type metrics struct {
	requests   *prometheus.CounterVec
	errors     *prometheus.CounterVec
	ejections  *prometheus.CounterVec
	inFlight   *prometheus.GaugeVec
	up         *prometheus.GaugeVec
	duration   *prometheus.HistogramVec
	probes     *prometheus.CounterVec
	commands   *prometheus.CounterVec
	clients    *prometheus.GaugeVec
	accepted   *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	ringServer *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	const ns, sub = "podkit", "memcache_proxy"
	srv := []string{"pool", "server"}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "server_requests_total",
			Help: "Requests sent to a server (a multiget split over servers counts once per server)."}, srv),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "server_errors_total",
			Help: "Requests to a server answered SERVER_ERROR by the proxy, by reason: timeout, refused, reset, closed, bad_response, ejected (fail-fast, or no server in service), resolve (host name not found)."},
			[]string{"pool", "server", "reason"}),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "server_ejections_total",
			Help: "Times a server was taken out of the pool after server_failure_limit consecutive failures."}, srv),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "server_in_flight_requests",
			Help: "Requests sent to a server and not answered yet."}, srv),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "server_up",
			Help: "1 while a server is in the pool and its last connection attempt or probe succeeded, 0 otherwise."}, srv),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "server_request_duration_seconds",
			Help:    "From sending a request to a server to its complete answer.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, srv),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "server_probes_total",
			Help: "Health probes (version) of unreachable or ejected servers, by result: ok, failed."}, []string{"pool", "server", "result"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "commands_total",
			Help: "Client requests parsed, by command."}, []string{"pool", "command"}),
		clients: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "client_connections",
			Help: "Open client connections."}, []string{"pool"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "client_connections_total",
			Help: "Client connections accepted."}, []string{"pool"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "rejected_total",
			Help: "Malformed or over-limit client requests answered with an error, by reason."}, []string{"pool", "reason"}),
		ringServer: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "servers",
			Help: "Servers configured in the pool, and how many are in service (state=live)."}, []string{"pool", "state"}),
	}
	if reg == nil {
		return m
	}
	for _, c := range []*prometheus.Collector{
		ptr(m.requests), ptr(m.errors), ptr(m.ejections), ptr(m.inFlight), ptr(m.up), ptr(m.duration),
		ptr(m.probes), ptr(m.commands), ptr(m.clients), ptr(m.accepted), ptr(m.rejected), ptr(m.ringServer),
	} {
		if err := reg.Register(*c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				panic(err) // a name clash with another package: a programming error
			}
			*c = are.ExistingCollector
		}
	}
	return m
}

func ptr[T prometheus.Collector](v T) *prometheus.Collector {
	c := prometheus.Collector(v)
	return &c
}

// poolMetrics are a pool's pre-resolved series, so the request path does
// no label lookups.
type poolMetrics struct {
	m        *metrics
	pool     string
	commands [protocol.NumCommands]prometheus.Counter
	clients  prometheus.Gauge
	accepted prometheus.Counter
}

func (m *metrics) forPool(pool string) *poolMetrics {
	pm := &poolMetrics{m: m, pool: pool, clients: m.clients.WithLabelValues(pool), accepted: m.accepted.WithLabelValues(pool)}
	for c := range pm.commands {
		pm.commands[c] = m.commands.WithLabelValues(pool, protocol.Command(c).String())
	}
	return pm
}

func (pm *poolMetrics) reject(r protocol.Reason) {
	pm.m.rejected.WithLabelValues(pm.pool, string(r)).Inc()
}

// serverMetrics are one server's series.
type serverMetrics struct {
	requests  prometheus.Counter
	errors    map[string]prometheus.Counter
	ejections prometheus.Counter
	inFlight  prometheus.Gauge
	up        prometheus.Gauge
	duration  prometheus.Observer
	probeOK   prometheus.Counter
	probeFail prometheus.Counter
}

func (pm *poolMetrics) forServer(name string) *serverMetrics {
	m := pm.m
	sm := &serverMetrics{
		requests:  m.requests.WithLabelValues(pm.pool, name),
		errors:    make(map[string]prometheus.Counter, len(errorReasons)),
		ejections: m.ejections.WithLabelValues(pm.pool, name),
		inFlight:  m.inFlight.WithLabelValues(pm.pool, name),
		up:        m.up.WithLabelValues(pm.pool, name),
		duration:  m.duration.WithLabelValues(pm.pool, name),
		probeOK:   m.probes.WithLabelValues(pm.pool, name, "ok"),
		probeFail: m.probes.WithLabelValues(pm.pool, name, "failed"),
	}
	for _, r := range errorReasons {
		sm.errors[r] = m.errors.WithLabelValues(pm.pool, name, r)
	}
	return sm
}

// dropServer deletes a server's series once a reload removed it.
func (pm *poolMetrics) dropServer(name string) {
	m := pm.m
	l := prometheus.Labels{"pool": pm.pool, "server": name}
	for _, v := range []interface {
		DeletePartialMatch(prometheus.Labels) int
	}{m.requests, m.errors, m.ejections, m.inFlight, m.up, m.duration, m.probes} {
		v.DeletePartialMatch(l)
	}
}
