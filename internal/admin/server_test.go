package admin

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newTest(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	s := New(Config{Version: "v-test", Commit: "abc"})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	return do(t, req)
}

func TestHealthz(t *testing.T) {
	s, ts := newTest(t)
	for _, path := range []string{"/healthz", "/livez"} {
		if code, body := get(t, ts.URL+path); code != 200 || body != "ok\n" {
			t.Fatalf("%s = %d %q, want 200 ok", path, code, body)
		}
	}
	s.AddLiveness("fine", func() error { return nil })
	s.AddLiveness("disk", func() error { return errors.New("disk full") })
	code, body := get(t, ts.URL+"/healthz")
	if code != 503 || !strings.Contains(body, `"name":"disk"`) || !strings.Contains(body, "disk full") || strings.Contains(body, `"fine"`) {
		t.Fatalf("/healthz = %d %q, want 503 listing only the failing check", code, body)
	}
}

func TestReadyzVerboseAndDraining(t *testing.T) {
	s, ts := newTest(t)
	s.AddReadiness("cache", func() error { return nil })
	s.AddReadiness("sync", func() error { return errors.New("first sync pending") })
	code, body := get(t, ts.URL+"/readyz?verbose")
	if code != 503 || body != "[+]cache ok\n[-]sync first sync pending\n" {
		t.Fatalf("/readyz?verbose = %d %q", code, body)
	}
	if code, _ := get(t, ts.URL+"/healthz"); code != 200 {
		t.Fatalf("readiness failure leaked into /healthz: %d", code)
	}

	s2, ts2 := newTest(t)
	if code, _ := get(t, ts2.URL+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d with no checks, want 200", code)
	}
	s2.SetDraining()
	if code, body := get(t, ts2.URL+"/readyz"); code != 503 || !strings.Contains(body, "shutting down") {
		t.Fatalf("/readyz while draining = %d %q", code, body)
	}
}

func TestMetrics(t *testing.T) {
	s, ts := newTest(t)
	code, body := get(t, ts.URL+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`podkit_build_info{commit="abc",goversion="go`,
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	problems, err := testutil.GatherAndLint(s.Registry(), "podkit_build_info")
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	if _, body := do(t, req); !strings.HasSuffix(body, "# EOF\n") {
		t.Fatalf("OpenMetrics not negotiated: %q", body[max(0, len(body)-40):])
	}
}

func TestPprofAndIndex(t *testing.T) {
	s, ts := newTest(t)
	s.Handle("/checks", "check detail", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "detail") }))
	if code, body := get(t, ts.URL+"/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("/debug/pprof/ = %d", code)
	}
	if code, body := get(t, ts.URL+"/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("/debug/pprof/goroutine = %d %.60q", code, body)
	}
	code, body := get(t, ts.URL+"/")
	if code != 200 || !strings.Contains(body, `href="/checks"`) || !strings.Contains(body, `href="/metrics"`) {
		t.Fatalf("index = %d %q", code, body)
	}
	if code, body := get(t, ts.URL+"/checks"); code != 200 || body != "detail" {
		t.Fatalf("/checks = %d %q", code, body)
	}
	if code, _ := get(t, ts.URL+"/nope"); code != 404 {
		t.Fatalf("/nope = %d, want 404", code)
	}
}

func TestMutatingRoutesAreGuarded(t *testing.T) {
	s, ts := newTest(t)
	var calls int
	s.HandleMutating("/lifecycle/stop", "graceful stop", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		calls++
	}))
	post := func(host, site string, body string) int {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/lifecycle/stop", strings.NewReader(body))
		if host != "" {
			req.Host = host
		}
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		code, _ := do(t, req)
		return code
	}
	if code, _ := get(t, ts.URL+"/lifecycle/stop"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET = %d, want 405", code)
	}
	if code := post("evil.example:80", "", ""); code != http.StatusForbidden {
		t.Errorf("rebinding Host = %d, want 403", code)
	}
	if code := post("", "cross-site", ""); code != http.StatusForbidden {
		t.Errorf("cross-site = %d, want 403", code)
	}
	if code := post("", "", strings.Repeat("x", maxBodyBytes+1)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body = %d, want 413", code)
	}
	if calls != 0 {
		t.Fatalf("handler completed %d times for rejected requests, want 0", calls)
	}
	for _, host := range []string{"", "localhost:9701", "[::1]:9701"} {
		if code := post(host, "", "{}"); code != 200 {
			t.Errorf("POST Host %q = %d, want 200", host, code)
		}
	}
	if calls != 3 {
		t.Fatalf("handler completed %d times, want 3", calls)
	}
}
