package metricsadapter

import (
	"testing"
	"time"
)

func TestStatsdSets(t *testing.T) {
	// The window never ends by itself here: the test ends it (flush), so
	// no line can fall into the next window.
	a, pk := start(t, Config{StatsdSets: true, StatsdSetWindow: time.Hour})
	// Members are text; a member sent twice counts once; tags in any order
	// name the same set.
	pk.Send(t, "users:alice|s", "users:bob|s", "users:alice|s", "users:7|s",
		"users:carol|s|#env:x,az:a", "users:dave|s|#az:a,env:x", "users:|s")
	a.sets.flush()
	if v := metricValue(t, pk, "users", ""); v != 3 {
		t.Errorf("users = %v, want 3 (alice, bob, 7)", v)
	}
	if v := metricValue(t, pk, "users", `{az="a",env="x"}`); v != 2 {
		t.Errorf(`users{az="a",env="x"} = %v, want 2`, v)
	}
	if v := metricValue(t, pk, "podkit_metrics_adapter_parse_errors_total", `{input="statsd",reason="malformed_value"}`); v != 1 {
		t.Errorf("an empty member is not a malformed_value: %v", v)
	}
	if v := metricValue(t, pk, "podkit_metrics_adapter_samples_total", `{input="statsd",type="set"}`); v != 6 {
		t.Errorf("set samples = %v, want 6", v)
	}
	// A window without members publishes 0: the count is per window.
	a.sets.flush()
	if v := metricValue(t, pk, "users", ""); v != 0 {
		t.Errorf("users = %v after an empty window, want 0", v)
	}
}

func TestStatsdSetsOffByDefault(t *testing.T) {
	_, pk := start(t, Config{})
	pk.Send(t, "users:alice|s", "users:5|s")
	if v := metricValue(t, pk, "users", ""); v != -1 {
		t.Errorf("a set without StatsdSets is stored: %v", v)
	}
	for reason, want := range map[string]float64{"malformed_value": 1, "illegal_event": 1} {
		if v := metricValue(t, pk, "podkit_metrics_adapter_parse_errors_total", `{input="statsd",reason="`+reason+`"}`); v != want {
			t.Errorf("%s = %v, want %v (statsd_exporter's answer)", reason, v, want)
		}
	}
}
