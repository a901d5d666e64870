package metricsadapter

import (
	"os"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/podkit/podkit/pkg/metrics-adapter/mapping"
)

// TestDeployExampleMappings runs the app's lines of
// deploy/examples/metrics-adapter through the mapping files of its pod.yaml
// and compose.yaml: an example that maps wrong fails here, not in a cluster.
func TestDeployExampleMappings(t *testing.T) {
	dir := "../../deploy/examples/metrics-adapter/"
	var pod struct {
		Data map[string]string `yaml:"data"`
	}
	f, err := os.Open(dir + "pod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := yaml.NewDecoder(f).Decode(&pod); err != nil { // the first document: the ConfigMap
		t.Fatal(err)
	}
	var compose struct {
		Configs map[string]struct{ Content string } `yaml:"configs"`
	}
	data, err := os.ReadFile(dir + "compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"pod.yaml": pod.Data["mapping.yml"], "compose.yaml": compose.Configs["statsd-mapping"].Content} {
		t.Run(name, func(t *testing.T) {
			mp, err := mapping.Parse([]byte(text))
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			_, pk := start(t, Config{Mapping: mp})
			pk.Send(t, "app.http.home.200:1|c", "app.http.latency.home:120|ms", "app.debug.loop:1|c")
			for _, c := range []struct {
				name, labels string
				want         float64
			}{
				{"http_requests_total", `{code="200",route="home"}`, 1},
				{"http_request_duration_seconds_count", `{route="home"}`, 1},
				{"http_request_duration_seconds_bucket", `{route="home",le="0.5"}`, 1},
				{"podkit_metrics_adapter_samples_dropped_total", `{reason="mapping_drop"}`, 1},
				{"podkit_metrics_adapter_samples_dropped_total", `{reason="type_conflict"}`, 0},
			} {
				if v := metricValue(t, pk, c.name, c.labels); v != c.want {
					t.Errorf("%s%s = %v, want %v", c.name, c.labels, v, c.want)
				}
			}
		})
	}
}
