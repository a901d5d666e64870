package main

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"time"
)

// The adapter: the app reports statsd, as countless apps do; podkit
// metrics-adapter turns it into Prometheus metrics, renamed and labelled by
// a statsd_exporter mapping file.

type metricsConfig struct {
	statsd  string // the app sends statsd here (UDP; TCP on the same port)
	metrics string // podkit metrics-adapter --metrics-addr
	admin   string // podkit metrics-adapter --admin-addr
}

// statsdMapping is written into the pod volume, as a ConfigMap would be
// mounted: statsd_exporter's format, as it is.
const statsdMapping = `# app.http.ROUTE.CODE (counter) and app.http.latency.ROUTE (timer, ms)
mappings:
  - match: "app.http.latency.*"
    match_metric_type: observer
    observer_type: histogram
    histogram_options:
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1]
    name: "http_request_duration_seconds"
    labels:
      route: "$1"
  - match: "app.http.*.*"
    match_metric_type: counter
    name: "http_requests_total"
    labels:
      route: "$1"
      code: "$2"
`

func (cfg *config) resolveMetrics() error {
	addrs, err := freePorts(3)
	if err != nil {
		return err
	}
	cfg.metrics = metricsConfig{statsd: addrs[0], metrics: addrs[1], admin: addrs[2]}
	return nil
}

// metricsContainer is podkit metrics-adapter, started before the app as a
// native sidecar would be, so the app's first line is not lost.
func metricsContainer(cfg config) container {
	m := cfg.metrics
	return container{
		name: "metrics-adapter",
		argv: []string{cfg.podkit, "metrics-adapter", "--admin-addr", m.admin, "--log-format", "text",
			"--statsd-udp-addr", m.statsd, "--statsd-tcp-addr", m.statsd, "--metrics-addr", m.metrics,
			"--mapping-config", "statsd-mapping.yml"},
		addr:      m.admin,
		readyPath: "/readyz",
		also:      []port{{m.statsd, ""}, {m.metrics, ""}},
		files:     map[string]string{"statsd-mapping.yml": statsdMapping},
		try: []string{
			"curl -s http://" + m.metrics + "/metrics | grep -E '^http_'",
			"echo 'app.http.manual.200:1|c' > /dev/udp/" + strings.Replace(m.statsd, ":", "/", 1) + "   # bash: one more statsd line",
			"curl -s http://" + m.metrics + "/metrics | grep podkit_metrics_adapter_lines_total",
		},
	}
}

// showMetrics shows the adapter at work: requests to the app come out of
// /metrics as Prometheus series the app never exposed.
func showMetrics(ctx context.Context, cfg config, con *console) bool {
	client := &http.Client{Timeout: 2 * time.Second}
	for range 2 {
		if err := get200(ctx, client, "http://"+cfg.appAddr+"/work"); err != nil {
			con.printf("==> metrics: GET /work: %v\n", err)
			return ctx.Err() != nil
		}
	}
	want := `http_requests_total{code="200",route="work"} 2`
	url := "http://" + cfg.metrics.metrics + "/metrics"
	deadline := time.Now().Add(probeTimeout)
	for {
		lines, err := scrapeLines(ctx, client, url, "http_")
		if err == nil && contains(lines, want) {
			con.printf("==> metrics: 2 requests to the app, sent as statsd, scraped from %s:\n", url)
			for _, l := range lines {
				if strings.HasPrefix(l, "http_requests_total") || strings.Contains(l, "_count") {
					con.printf("      %s\n", l)
				}
			}
			return true
		}
		if ctx.Err() != nil {
			return true
		}
		if time.Now().After(deadline) {
			con.printf("==> metrics: %s lacks %s after %s (%v): %q\n", url, want, probeTimeout, err, lines)
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scrapeLines fetches url and returns its lines starting with prefix.
func scrapeLines(ctx context.Context, client *http.Client, url, prefix string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			out = append(out, sc.Text())
		}
	}
	return out, sc.Err()
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}
