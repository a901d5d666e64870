package hook

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	NewQueue(&Webhook{}, 0, nil, m)
	NewQueue(&Exec{}, 0, nil, m)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	// Both results exist from the start, so rate() works from the first run.
	if n := testutil.CollectAndCount(reg, "podkit_gitsync_hook_runs_total"); n != 4 {
		t.Errorf("%d runs series, want 4 (2 hooks x 2 results)", n)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Error("registering twice succeeded")
	}
}
