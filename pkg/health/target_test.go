package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHTTPExpectBody(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"status":"UP"}`)) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"status":"DOWN"}`)) })
	mux.HandleFunc("/fail", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(503)
		w.Write([]byte(`{"status":"UP"}`))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(strings.Repeat(" ", probeBodyLimit)))
		w.Write([]byte(`"UP"`)) // past the bounded read
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tc := range []struct {
		path, re, err string
	}{
		{"/ok", `"status":\s*"UP"`, ""},
		{"/ok", "", ""},
		{"/down", `"UP"`, `body does not match "\"UP\""`},
		{"/fail", `"UP"`, "HTTP 503"},
		{"/big", `"UP"`, "body does not match"},
	} {
		p, err := newProber(srv.URL+tc.path, tc.re)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		err = p.probe(ctx)
		cancel()
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("GET %s expecting %q = %v, want %q", tc.path, tc.re, err, tc.err)
		}
	}
}

func TestNewProberRejects(t *testing.T) {
	for _, tc := range []struct{ target, re, err string }{
		{"http://h:1/", "(", "expect-body: error parsing regexp"},
		{"tcp://h:1", "x", "expect-body applies to HTTP targets only"},
		{"grpc://h:1", "x", "expect-body applies to HTTP targets only"},
		{"exec:true", "x", "expect-body applies to HTTP targets only"},
		{"http://u:hunter2@h:1/%zz", "", "invalid URL escape"},
	} {
		_, err := newProber(tc.target, tc.re)
		if err == nil || !errors.Is(err, ErrBadTarget) || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("newProber(%q, %q) = %v, want ErrBadTarget with %q", tc.target, tc.re, err, tc.err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("newProber(%q) leaks the password: %v", tc.target, err)
		}
	}
}

func TestRedactTarget(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:8080/healthz":                "http://127.0.0.1:8080/healthz",
		"https://user:hunter2@db:443/x?y=1":            "https://user:xxxxx@db:443/x?y=1",
		"grpc://h:1/svc":                               "grpc://h:1/svc",
		"exec:pg_isready -d postgres://u:hunter2@h/db": "exec:pg_isready -d postgres://u:xxxxx@h/db",
		"exec:check --dsn=mysql://u:hunter2@h:3306/db": "exec:check --dsn=mysql://u:xxxxx@h:3306/db",
		"exec:check   --plain   args":                  "exec:check --plain args",
		"exec:check --url=http://u:hunter2@[::1":       "exec:check --url=(unparseable URL)",
		"http://u:hunter2@[::1":                        "(unparseable target)",
	} {
		if got := redactTarget(in); got != want {
			t.Errorf("redactTarget(%q) = %q, want %q", in, got, want)
		}
	}
}
