package health

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestProbeHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/broken", http.StatusFound) })
	mux.HandleFunc("/broken", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	mux.HandleFunc("/hang", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(mux)
	defer tlsSrv.Close()

	for _, tc := range []struct {
		target  string
		healthy bool
	}{
		{srv.URL + "/ok", true},
		{srv.URL + "/moved", true}, // 3xx is healthy and not followed, as the kubelet does
		{srv.URL + "/broken", false},
		{srv.URL + "/missing", false},
		{srv.URL + "/hang", false},
		{tlsSrv.URL + "/ok", true}, // self-signed: not verified, as the kubelet does
		{"http://127.0.0.1:1/", false},
	} {
		err := Probe(context.Background(), tc.target, 200*time.Millisecond)
		if (err == nil) != tc.healthy {
			t.Errorf("Probe(%s) = %v, want healthy=%v", tc.target, err, tc.healthy)
		}
		if errors.Is(err, ErrBadTarget) {
			t.Errorf("Probe(%s) = %v: a valid target is not a usage error", tc.target, err)
		}
	}
}

func TestProbeTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := Probe(context.Background(), "tcp://"+addr, time.Second); err != nil {
		t.Fatalf("open port: %v", err)
	}
	ln.Close()
	if err := Probe(context.Background(), "tcp://"+addr, time.Second); err == nil {
		t.Fatal("closed port probed healthy")
	}
}

func TestProbeBadTargetsAndSecrets(t *testing.T) {
	for _, target := range []string{"ftp://x/", "tcp://nohost", "http:///path", "://", "http://user:hunter2@[::1"} {
		err := Probe(context.Background(), target, time.Second)
		if !errors.Is(err, ErrBadTarget) {
			t.Errorf("Probe(%q) = %v, want ErrBadTarget", target, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Probe(%q) error leaks the password: %v", target, err)
		}
	}
	err := Probe(context.Background(), "http://user:hunter2@127.0.0.1:1/", time.Second)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v: want a failure that does not leak the password", err)
	}
}
