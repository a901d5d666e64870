package metricsadapter

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestScrapeIntoMetrics: an app's own endpoints (Prometheus text with a
// foreign naming scheme, and Jolokia-style JSON) come out of the adapter's
// /metrics beside the statsd series.
func TestScrapeIntoMetrics(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# TYPE legacyRequests counter\nlegacyRequests{Path=\"/a\"} 12\n# TYPE noise gauge\nnoise 1\n")
	})
	mux.HandleFunc("/jolokia", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"request":{"mbean":"java.lang:type=Memory","type":"read"},"value":{"HeapMemoryUsage":{"used":1234,"max":4096}},"status":200}`)
	})
	app := httptest.NewServer(mux)
	defer app.Close()
	file := filepath.Join(t.TempDir(), "scrape.yml")
	os.WriteFile(file, []byte(`scrapes:
  legacy:
    format: prometheus
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: legacyRequests
        target_label: __name__
        replacement: legacy_requests_total
      - source_labels: [__name__]
        regex: noise
        action: drop
      - regex: Path
        action: labelmap
        replacement: path
      - regex: Path
        action: labeldrop
  jvm:
    format: json
    metrics:
      - name: jvm_heap_used_bytes
        path: '{.value.HeapMemoryUsage.used}'
        valuetype: gauge
        labels:
          mbean: '{.request.mbean}'
`), 0o644)
	a, err := New(Config{StatsdTCPAddr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", ScrapeFile: file,
		Scrapes: []string{"legacy=" + app.URL + "/metrics", "jvm=" + app.URL + "/jolokia"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	pk := run(t, a)
	pk.Send(t, "statsd.side:1|c")
	waitFor(t, func() bool {
		return metricValue(t, pk, "jvm_heap_used_bytes", `{mbean="java.lang:type=Memory"}`) == 1234
	})
	for _, c := range []struct {
		name, labels string
		want         float64
	}{
		{"legacy_requests_total", `{path="/a"}`, 12},
		{"noise", "", -1},
		{"statsd_side", "", 1},
		{"podkit_metrics_adapter_scrape_up", `{scrape="legacy"}`, 1},
	} {
		if v := metricValue(t, pk, c.name, c.labels); v != c.want {
			t.Errorf("%s%s = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
	families(t, pk.Metrics(t)) // the merged exposition parses
}
