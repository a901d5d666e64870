package scrape

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
)

// server answers with whatever the test sets.
type server struct {
	mu     sync.Mutex
	status int
	body   string
	block  bool
	header http.Header
}

func (s *server) set(status int, body string, block bool) {
	s.mu.Lock()
	s.status, s.body, s.block = status, body, block
	s.mu.Unlock()
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	status, body, block := s.status, s.body, s.block
	s.header = r.Header.Clone()
	s.mu.Unlock()
	if block {
		<-r.Context().Done()
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func gatherText(t testing.TB, g prometheus.Gatherer) string {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, f := range fams {
		_, _ = expfmt.MetricFamilyToText(&b, f)
	}
	return b.String()
}

func TestTargetErrorsKeepLastGood(t *testing.T) {
	js, ps := &server{status: 200, body: `{"a":1}`}, &server{status: 200, body: "m 1\n"}
	jsrv, psrv := httptest.NewServer(js), httptest.NewServer(ps)
	defer jsrv.Close()
	defer psrv.Close()
	ju := strings.Replace(jsrv.URL, "http://", "http://user:s3cret@", 1)
	cfg, err := ParseConfig([]byte(`
scrapes:
  j:
    format: json
    timeout: 200ms
    body_size_limit: 100
    headers: {Authorization: Bearer t0ken}
    metrics:
    - {name: a, path: '{.a}'}
  p:
    series_limit: 2
    timeout: 200ms
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.AddFlags([]string{"j=" + ju, "p=" + psrv.URL}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	reg := prometheus.NewPedanticRegistry()
	s, err := New(cfg, Options{Registry: reg, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Ready(); err == nil {
		t.Error("Ready before any scrape")
	}
	for _, n := range []string{"j", "p"} {
		if err := s.Scrape(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Ready(); err != nil {
		t.Error(err)
	}
	js.mu.Lock()
	if got := js.header.Get("Authorization"); got != "Bearer t0ken" {
		t.Errorf("Authorization %q", got)
	}
	js.mu.Unlock()
	good := "# HELP a a\n# TYPE a untyped\na 1\n# HELP m \n# TYPE m untyped\nm 1\n"
	good = strings.Replace(good, "# HELP m \n", "", 1)
	if got := gatherText(t, s); got != good {
		t.Fatalf("first scrape:\n%s", got)
	}
	for _, tc := range []struct {
		target, reason string
		status         int
		body           string
		block          bool
	}{
		{"j", ReasonHTTPStatus, 500, `{"a":2}`, false},
		{"j", ReasonTimeout, 200, "", true},
		{"j", ReasonTooLarge, 200, `{"a":"` + strings.Repeat("x", 200) + `"}`, false},
		{"j", ReasonParse, 200, `{"a":`, false},
		{"p", ReasonParse, 200, "m{ 1\n", false},
		{"p", ReasonTooManySeries, 200, "m 1\nn 2\no 3\n", false},
		{"p", ReasonHTTPStatus, 404, "m 5\n", false},
	} {
		srv := js
		if tc.target == "p" {
			srv = ps
		}
		srv.set(tc.status, tc.body, tc.block)
		err := s.Scrape(ctx, tc.target)
		if err == nil || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s %s: error %v", tc.target, tc.reason, err)
		}
		if got := testutil.ToFloat64(s.metrics.errors.WithLabelValues(tc.target, tc.reason)); got < 1 {
			t.Errorf("errors_total{%s,%s} = %v", tc.target, tc.reason, got)
		}
		if got := testutil.ToFloat64(s.metrics.up.WithLabelValues(tc.target)); got != 0 {
			t.Errorf("%s: up %v after %s", tc.target, got, tc.reason)
		}
		if got := gatherText(t, s); got != good {
			t.Errorf("after %s on %s, not the last good result:\n%s", tc.reason, tc.target, got)
		}
	}
	for _, secret := range []string{"s3cret", "t0ken"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log holds %q:\n%s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "reason=timeout") {
		t.Errorf("no timeout logged:\n%s", logs.String())
	}
	// Recovery.
	js.set(200, `{"a":3}`, false)
	if err := s.Scrape(ctx, "j"); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(s.metrics.up.WithLabelValues("j")); got != 1 {
		t.Errorf("up %v after recovery", got)
	}
	if got := gatherText(t, s); !strings.Contains(got, "a 3\n") {
		t.Errorf("after recovery:\n%s", got)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	// The Gatherer merges with a registry as the admin server does.
	if _, err := (prometheus.Gatherers{reg, s}).Gather(); err != nil {
		t.Error(err)
	}
}

func TestReloadAtomic(t *testing.T) {
	srv := httptest.NewServer(&server{status: 200, body: "m 1\n"})
	defer srv.Close()
	cfg := &Config{}
	if err := cfg.AddFlags([]string{"a=" + srv.URL, "b=" + srv.URL}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s, err := New(cfg, Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Scrape(t.Context(), "a")
	_ = s.Scrape(t.Context(), "b")
	bad, _ := ParseConfig([]byte("scrapes:\n  a: {}\n")) // no URL
	if err := s.Reload(bad); err == nil || !strings.Contains(err.Error(), "url: required") {
		t.Fatalf("Reload(bad) = %v", err)
	}
	if n := testutil.CollectAndCount(reg, "podkit_metrics_adapter_scrape_up"); n != 2 {
		t.Errorf("%d up series after a bad reload", n)
	}
	next := &Config{}
	_ = next.AddFlags([]string{"a=" + srv.URL}) // b removed, a unchanged
	if err := s.Reload(next); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "podkit_metrics_adapter_scrape_up"); n != 1 {
		t.Errorf("%d up series after removing b", n)
	}
	if got := gatherText(t, s); got != "# TYPE m untyped\nm 1\n" {
		t.Errorf("a's result not kept:\n%s", got)
	}
}

// roundTripper serves a handler in memory: no sockets, so synctest's
// bubble can advance the clock.
type roundTripper struct{ h http.Handler }

func (rt roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	rt.h.ServeHTTP(w, r)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	return w.Result(), nil
}

func TestRunSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		n := 0
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			n++
			mu.Unlock()
			_, _ = w.Write([]byte("m 1\n"))
		})
		cfg, err := ParseConfig([]byte("scrapes:\n  a:\n    url: http://app/metrics\n    interval: 10s\n"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(cfg, Options{Client: &http.Client{Transport: roundTripper{h}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.Run(ctx) }()
		synctest.Wait()
		if err := s.Ready(); err != nil {
			t.Error(err)
		}
		time.Sleep(35 * time.Second) // the bubble's clock: scrapes at 0, 10, 20, 30s
		synctest.Wait()
		mu.Lock()
		if n != 4 {
			t.Errorf("%d scrapes in 35s at 10s, want 4", n)
		}
		mu.Unlock()
		// A reload with a changed target scrapes it at once.
		cfg2, _ := ParseConfig([]byte("scrapes:\n  a:\n    url: http://app/metrics\n    interval: 20s\n"))
		if err := s.Reload(cfg2); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		mu.Lock()
		if n != 5 {
			t.Errorf("%d scrapes after reload, want 5", n)
		}
		mu.Unlock()
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{"scrapes:\n  app:\n    intervall: 5s\n", "scrapes.app (line 2): line 3: field intervall not found"},
		{"scrapes:\n  app:\n    format: xml\n", `invalid format "xml"`},
		{"scrapes:\n  app:\n    interval: 5\n", "invalid duration"},
		{"scrapes:\n  app:\n    interval: 5s\n    timeout: 10s\n", "scrapes.app (line 2): timeout: must be > 0 and <= interval"},
		{"scrapes:\n  app:\n    url: ftp://x\n", "scheme must be http"},
		{"scrapes:\n  app:\n    url: 'http://u:pw@%zz'\n", "url: invalid URL"},
		{"scrapes:\n  app:\n    format: json\n", "metrics: required with format json"},
		{"scrapes:\n  app:\n    metrics: [{name: a, path: '{.a}'}]\n", "metrics: only with format: json"},
		{"scrapes:\n  app:\n    format: json\n    metrics:\n    - name: a\n      path: '{.a}'\n      epochTimestamp: '{.t}'\n", "scrapes.app (line 2): metrics[0] (line 5): epochtimestamp: not supported"},
		{"scrapes:\n  app:\n    format: json\n    metrics:\n    - {name: a, path: '{.a'}\n", "metrics[0] (line 5): path: jsonpath"},
		{"scrapes:\n  app:\n    format: json\n    metrics:\n    - {name: a, path: '{.a}', type: list}\n", `type: invalid "list"`},
		{"scrapes:\n  app:\n    format: json\n    metrics:\n    - {name: a, path: '{.a}', valuetype: histogram}\n", "valuetype: invalid"},
		{"scrapes:\n  app:\n    format: json\n    metrics:\n    - {name: a, path: '{.a}', labels: {a-b: x}}\n", "not a label name"},
		{"scrapes:\n  app:\n    format: json\n    metrics:\n    - {name: a, type: object, path: '{.a}'}\n", "values: required"},
		{"scrapes:\n  app:\n    format: json\n    metrics:\n    - {name: a, path: '{.a}', valuetype: gauge}\n    - {name: a, path: '{.b}'}\n", "another valuetype or help"},
		{"scrapes:\n  app:\n    format: json\n    metrics:\n    - {name: a, path: '{.a}', http_client_config: {}}\n", "field http_client_config not found"},
		{"scrapes:\n  'a b': {}\n", "invalid name"},
		{"scrapes: [1]\n", "cannot unmarshal"},
		{"scrapes:\n  app:\n    headers: {'X-A': \"a\\nb\"}\n", "invalid header"},
		{strings.Repeat("#", MaxConfigSize+1), "larger than 1 MiB"},
	} {
		_, err := ParseConfig([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %q", tc.config[:min(len(tc.config), 80)], err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	c := &Config{}
	for _, tc := range []struct{ flag, want string }{
		{"app", "want NAME=URL"},
		{"=http://x", "want NAME=URL"},
		{"a/b=http://x", "invalid name"},
		{"app=x", "scheme must be http"},
		{"app=http://u:pw@h/%zz", "invalid URL"},
	} {
		if err := c.AddFlags([]string{tc.flag}); err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "pw") {
			t.Errorf("--scrape %s: %v, want %q", tc.flag, err, tc.want)
		}
	}
	if err := c.AddFlags([]string{"a=http://x", "a=http://y"}); err == nil {
		t.Error("a name twice: no error")
	}
	if _, err := New(&Config{Scrapes: map[string]*Target{"x": {}}}, Options{}); err == nil || !strings.Contains(err.Error(), "--scrape x=URL") {
		t.Errorf("New without a URL: %v", err)
	}
}

func TestSecretNotPrinted(t *testing.T) {
	tg := Target{Headers: map[string]Secret{"Authorization": "Bearer t0ken"}}
	var b bytes.Buffer
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "target", tg, "h", tg.Headers["Authorization"])
	fmt.Fprintf(&b, "%v %+v %#v %s", tg, tg, tg, tg.Headers)
	if strings.Contains(b.String(), "t0ken") {
		t.Errorf("secret printed: %s", b.String())
	}
}
