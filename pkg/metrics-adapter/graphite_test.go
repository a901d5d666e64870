package metricsadapter

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/statsdtest"
)

func TestGraphiteInput(t *testing.T) {
	file := filepath.Join(t.TempDir(), "graphite.yml")
	os.WriteFile(file, []byte(`mappings:
- match: servers.*.cpu.*
  name: server_cpu_percent
  labels:
    server: $1
    mode: $2
- match: noisy.*
  action: drop
  name: dropped
`), 0o644)
	a, err := New(Config{GraphiteAddr: "127.0.0.1:0", GraphiteMappingFile: file, MetricsAddr: "127.0.0.1:0",
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	pk := run(t, a)
	c, err := net.Dial("tcp", a.Addrs().Graphite.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	now := time.Now().Unix()
	fmt.Fprintf(c, "servers.web1.cpu.user 42.5 %d\n", now)
	fmt.Fprintf(c, "servers.web1.cpu.user 43.5 %d\n", now) // the last one received wins
	fmt.Fprintf(c, "app.requests;env=prod;dc=x 7 %d\n", now)
	fmt.Fprintf(c, "noisy.thing 1 %d\n", now)
	fmt.Fprintf(c, "stale.value 1 %d\n", now-3600) // older than the 5m expiry
	fmt.Fprintf(c, "not a graphite line\n")
	fmt.Fprintf(c, "done.marker 1 %d\n", now)
	waitFor(t, func() bool { return metricValue(t, pk, "done_marker", "") == 1 })
	for _, tc := range []struct {
		name, labels string
		want         float64
	}{
		{"server_cpu_percent", `{mode="user",server="web1"}`, 43.5},
		{"app_requests", `{dc="x",env="prod"}`, 7},
		{"noisy_thing", "", -1},
		{"stale_value", "", -1},
		{"podkit_metrics_adapter_samples_dropped_total", `{reason="mapping_drop"}`, 1},
		{"podkit_metrics_adapter_samples_dropped_total", `{reason="expired"}`, 1},
		{"podkit_metrics_adapter_parse_errors_total", `{input="graphite",reason="wrong_field_count"}`, 1},
		{"podkit_metrics_adapter_samples_total", `{input="graphite",type="gauge"}`, 4},
	} {
		if v := metricValue(t, pk, tc.name, tc.labels); v != tc.want {
			t.Errorf("%s%s = %v, want %v", tc.name, tc.labels, v, tc.want)
		}
	}
}

// run runs a (already configured with its addresses) until the test ends.
func run(t *testing.T, a *Adapter) *statsdtest.Exporter {
	t.Helper()
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	stop := runAdapter(t, a)
	t.Cleanup(stop)
	ad := a.Addrs()
	e := &statsdtest.Exporter{URL: "http://" + ad.Metrics.String()}
	if ad.StatsdUDP != nil {
		e.UDPAddr = ad.StatsdUDP.String()
	}
	if ad.StatsdTCP != nil {
		e.TCPAddr = ad.StatsdTCP.String()
	}
	return e
}
