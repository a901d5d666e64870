package metricsadapter

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/podkit/podkit/internal/statsdtest"
	"github.com/podkit/podkit/pkg/metrics-adapter/mapping"
)

// A context canceled while Run starts (SIGTERM during startup, or a
// sibling component failing at once) is a clean stop: Run returns nil.
func TestReviewRunCanceledAtStartIsClean(t *testing.T) {
	for i := range 20 {
		a, err := New(Config{StatsdUDPAddr: "127.0.0.1:0", StatsdTCPAddr: "127.0.0.1:0", GraphiteAddr: "127.0.0.1:0",
			MetricsAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := a.Run(ctx); err != nil {
			t.Fatalf("run %d: Run with a canceled context = %v, want nil", i, err)
		}
	}
}

// Listen is idempotent (the command calls it, then Run calls it again)
// also when the only input is a scrape: /metrics stays where it was bound.
func TestReviewListenTwiceScrapeOnly(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# TYPE app_up gauge\napp_up 1\n")
	}))
	defer app.Close()
	a, err := New(Config{Scrapes: []string{"app=" + app.URL}, MetricsAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	first := a.Addrs().Metrics.String()
	stop := runAdapter(t, a) // Run calls Listen again
	defer stop()
	waitFor(t, func() bool { return a.Ready() == nil })
	if got := a.Addrs().Metrics.String(); got != first {
		t.Fatalf("/metrics moved from %s to %s: the first listener was rebound (and leaked)", first, got)
	}
	resp, err := http.Get("http://" + first + "/metrics")
	if err != nil {
		t.Fatalf("/metrics at the address bound first: %v", err)
	}
	resp.Body.Close()
}

// Nothing Run started is left once it returns: readers, TCP connections,
// sets, the reloader, /metrics and the scrapes' keep-alive connections.
func TestReviewNoGoroutineLeftAfterRun(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# TYPE app_up gauge\napp_up 1\n")
	}))
	defer app.Close()
	ignore := goleak.IgnoreCurrent()
	file := filepath.Join(t.TempDir(), "mapping.yml")
	os.WriteFile(file, []byte("mappings: []\n"), 0o644)
	a, err := New(Config{StatsdUDPAddr: "127.0.0.1:0", StatsdTCPAddr: "127.0.0.1:0", GraphiteAddr: "127.0.0.1:0",
		MetricsAddr: "127.0.0.1:0", MappingFile: file, WatchInterval: 10 * time.Millisecond, StatsdSets: true,
		Scrapes: []string{"app=" + app.URL}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	stop := runAdapter(t, a)
	pk := run0(a)
	// An idle statsd TCP client and a Graphite one stay connected.
	c1, err := net.Dial("tcp", pk.TCPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	fmt.Fprint(c1, "idle.client:1|c\n")
	c2, err := net.Dial("tcp", a.Addrs().Graphite.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	waitFor(t, func() bool {
		return metricValue(t, pk, "idle_client", "") == 1 && metricValue(t, pk, "app_up", "") == 1
	})
	stop()
	http.DefaultClient.CloseIdleConnections() // the test's own scrapes
	goleak.VerifyNone(t, ignore)
}

// Defaults' summary_options (max_age, age_buckets) apply to summaries
// whose mapping has none, and to unmatched names: statsd_exporter's
// registry takes them from Defaults when the mapping has no
// summary_options (pkg/registry GetSummary).
func TestReviewSummaryDefaultsApply(t *testing.T) {
	mp, err := mapping.Parse([]byte(`defaults:
  summary_options:
    max_age: 30s
    age_buckets: 3
mappings:
- match: mapped.*
  name: mapped_seconds
- match: own.*
  name: own_seconds
  observer_type: summary
  summary_options:
    max_age: 1m
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		maxAge  time.Duration
		buckets int
	}{
		{"unmatched.timer", 30 * time.Second, 3},
		{"mapped.timer", 30 * time.Second, 3},
		{"own.timer", time.Minute, 3},
	} {
		m := resolve(mp, c.name, mapping.Observer)
		if m.opts.MaxAge != c.maxAge || m.opts.AgeBuckets != c.buckets {
			t.Errorf("%s: max_age %v, age_buckets %d; want %v, %d", c.name, m.opts.MaxAge, m.opts.AgeBuckets, c.maxAge, c.buckets)
		}
	}
}

// run0 is run without Listen and Cleanup: the client for a running a.
func run0(a *Adapter) *statsdtest.Exporter {
	ad := a.Addrs()
	return &statsdtest.Exporter{URL: "http://" + ad.Metrics.String(), TCPAddr: ad.StatsdTCP.String()}
}

// The members held by all sets together are bounded (not only per set:
// MaxSeries sets of maxSetMembers hashes each would be terabytes); past
// the bound new members are counted as set_overflow, and a flush gives
// the window's memory back.
func TestReviewSetMembersBoundedTogether(t *testing.T) {
	a, pk := start(t, Config{StatsdSets: true, StatsdSetWindow: time.Hour})
	a.sets.mu.Lock()
	a.sets.budget = 5
	a.sets.mu.Unlock()
	pk.Send(t, "s1:a|s", "s1:b|s", "s2:c|s", "s2:d|s", "s3:e|s", "s3:f|s", "s3:g|s", "s1:a|s")
	held := func() (n int) {
		a.sets.mu.Lock()
		defer a.sets.mu.Unlock()
		for _, st := range a.sets.m {
			n += len(st.members)
		}
		return n
	}
	if n := held(); n > 5 {
		t.Errorf("%d set members held, bound 5", n)
	}
	if v := metricValue(t, pk, "podkit_metrics_adapter_samples_dropped_total", `{reason="set_overflow"}`); v != 2 {
		t.Errorf("set_overflow = %v, want 2 (f, g; a again is no new member)", v)
	}
	if v := metricValue(t, pk, "podkit_metrics_adapter_samples_total", `{input="statsd",type="set"}`); v != 6 {
		t.Errorf("set samples stored = %v, want 6: a member over the bound is dropped, not stored", v)
	}
	a.sets.flush()
	if v := metricValue(t, pk, "s3", ""); v != 1 {
		t.Errorf("s3 = %v, want 1", v)
	}
	pk.Send(t, "s3:f|s", "s3:g|s")
	a.sets.flush()
	if v := metricValue(t, pk, "s3", ""); v != 2 {
		t.Errorf("s3 = %v in the next window, want 2: the budget is per window", v)
	}
}

// A mapping file grown past its size limit is one rejected reload, as a
// file that does not parse is: not an error logged and counted at every
// check until it is fixed.
func TestReviewOversizedMappingRejectedOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mapping.yml")
	os.WriteFile(file, []byte("mappings: []\n"), 0o644)
	a, _ := start(t, Config{MappingFile: file, WatchInterval: 5 * time.Millisecond})
	big := append([]byte("mappings: []\n#"), make([]byte, mapping.MaxConfigSize)...)
	os.WriteFile(file+".new", big, 0o644)
	os.Rename(file+".new", file)
	waitFor(t, func() bool { _, r, _ := a.reloader.Results(); return r >= 1 })
	time.Sleep(100 * time.Millisecond) // some 20 checks
	if _, r, _ := a.reloader.Results(); r != 1 {
		t.Errorf("%d rejected reloads of one oversized file, want 1", r)
	}
}
