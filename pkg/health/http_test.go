package health

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/podkit/podkit/internal/admin"
	"github.com/podkit/podkit/internal/daemon"
)

var (
	_ Admin            = (*admin.Server)(nil)
	_ daemon.Component = (*Checker)(nil)
)

// End to end in real time: every target kind against a real server, the
// verdicts on a real admin server, the metrics linted.
func TestChecksPageAndMetrics(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer web.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	grpcAddr, hs := startGRPC(t)
	hs.SetServingStatus("app", healthpb.HealthCheckResponse_SERVING)
	webWithPassword := strings.Replace(web.URL, "http://", "http://probe:hunter2@", 1)

	const fast = 20 * time.Millisecond
	reg := prometheus.NewPedanticRegistry()
	c, err := New(Config{Logger: quiet, Registry: reg, Checks: []Spec{
		{Name: "web", Target: webWithPassword + "/", Period: fast},
		{Name: "tcp", Target: "tcp://" + ln.Addr().String(), Kind: Liveness, Period: fast},
		{Name: "grpc", Target: "grpc://" + grpcAddr + "/app", Period: fast},
		{Name: "exec", Target: "exec:true", Kind: Startup, Period: fast},
		{Name: "broken", Target: web.URL + "/broken", Kind: Liveness, Period: fast, FailureThreshold: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	a := admin.New(admin.Config{Logger: quiet})
	c.Mount(a)
	a.AddReadiness(c.Name(), c.Ready) // what the daemon does for every component
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()

	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(t.Context())
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// Poll until every check has a verdict; the bound only stops a broken
	// build from hanging.
	var page struct {
		StartupDone bool          `json:"startup_done"`
		Checks      []CheckStatus `json:"checks"`
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		code, body := httpGet(t, srv.URL+"/checks")
		if code != 200 {
			t.Fatalf("/checks = %d", code)
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatalf("/checks: %v\n%s", err, body)
		}
		settled := page.StartupDone
		for _, s := range page.Checks {
			settled = settled && (s.Probes >= 2 || s.Kind == Startup && s.Probes == 1)
		}
		if settled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("checks never settled:\n%s", body)
		}
		time.Sleep(fast)
	}
	want := map[string]Status{"web": StatusOK, "tcp": StatusOK, "grpc": StatusOK, "exec": StatusOK, "broken": StatusFailing}
	for _, s := range page.Checks {
		if s.Status != want[s.Name] || s.LastProbe.IsZero() || s.LastTransition.IsZero() {
			t.Errorf("/checks %s: %+v, want status %s", s.Name, s, want[s.Name])
		}
		if strings.Contains(s.Target, "hunter2") {
			t.Errorf("/checks shows a password: %s", s.Target)
		}
	}
	if s := page.Checks[4]; s.LastError != web.URL+"/broken: HTTP 500" || s.ConsecutiveFailures < 2 || s.Kind != Liveness {
		t.Errorf("/checks broken: %+v", s)
	}
	if code, body := httpGet(t, srv.URL+"/healthz"); code != 503 || !strings.Contains(body, "failing: broken:") {
		t.Errorf("/healthz = %d %s", code, body)
	}
	if code, body := httpGet(t, srv.URL+"/readyz"); code != 200 {
		t.Errorf("/readyz = %d %s", code, body)
	}
	if _, body := httpGet(t, srv.URL+"/"); !strings.Contains(body, `href="/checks"`) {
		t.Errorf("index does not link /checks:\n%s", body)
	}

	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Fatalf("metrics lint: %v %v", err, problems)
	}
	err = testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP podkit_health_check_up 1 while the check's verdict is ok, 0 while failing or not yet decided.
# TYPE podkit_health_check_up gauge
podkit_health_check_up{check="broken",kind="liveness"} 0
podkit_health_check_up{check="exec",kind="startup"} 1
podkit_health_check_up{check="grpc",kind="readiness"} 1
podkit_health_check_up{check="tcp",kind="liveness"} 1
podkit_health_check_up{check="web",kind="readiness"} 1
`), "podkit_health_check_up")
	if err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "podkit_health_check_duration_seconds"); n != 5 {
		t.Errorf("%d duration series, want 5", n)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "podkit_health_check_transitions_total" {
			for _, m := range mf.GetMetric() {
				if labels(m.GetLabel()) == "broken/failing" && m.GetCounter().GetValue() != 1 {
					t.Errorf("broken -> failing transitions = %v, want 1", m.GetCounter().GetValue())
				}
			}
		}
	}
}

func labels[L interface{ GetValue() string }](ls []L) string {
	var vs []string
	for _, l := range ls {
		vs = append(vs, l.GetValue())
	}
	return strings.Join(vs, "/")
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMetricsRegisterOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(Config{Registry: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Registry: reg}); err == nil {
		t.Fatal("a second checker on one registry registered its metrics twice")
	}
}
