package health

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rawServer answers every connection with answer, verbatim, after reading
// the request head; it returns the address and the last request seen.
func rawServer(t *testing.T, answer string) (string, <-chan *http.Request) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reqs := make(chan *http.Request, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			req, err := http.ReadRequest(bufio.NewReader(c))
			if err == nil {
				reqs <- req
			}
			io.WriteString(c, answer)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String(), reqs
}

func probeURL(t *testing.T, target, expect string) error {
	t.Helper()
	p, err := newProber(target, expect)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	return p.probe(ctx)
}

func TestHTTPProbeWire(t *testing.T) {
	for _, tc := range []struct {
		name, answer, expect, err string
	}{
		{"ok", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "", ""},
		{"304 is healthy", "HTTP/1.1 304 Not Modified\r\n\r\n", "", ""},
		{"redirect not followed", "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n", "", ""},
		{"chunked body matched", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nUP!\r\n0\r\n\r\n", "^UP!$", ""},
		{"interim 100 skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n", "", "HTTP 503"},
		{"body to EOF", "HTTP/1.0 200 OK\r\n\r\nall good", "good", ""},
		{"short body still matched", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nUP", "UP", ""},
		{"199 is not healthy", "HTTP/1.1 199 Odd\r\n\r\nHTTP/1.1 199 Odd\r\n\r\nHTTP/1.1 199 Odd\r\n\r\nHTTP/1.1 199 Odd\r\n\r\nHTTP/1.1 199 Odd\r\n\r\nHTTP/1.1 199 Odd\r\n\r\n", "", "HTTP 199"},
		{"400", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "", "HTTP 400"},
		{"garbage", "SSH-2.0-OpenSSH_9.2\r\n", "", "malformed HTTP"},
		{"closed without answer", "", "", "EOF"},
		{"header flood", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("x", 300<<10) + "\r\nContent-Length: 0\r\n\r\n", "", "answer headers over 128 KiB"},
		{"huge header line", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("x", 100<<10) + "\r\nContent-Length: 0\r\n\r\n", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, _ := rawServer(t, tc.answer)
			err := probeURL(t, "http://"+addr+"/", tc.expect)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("probe = %v, want %q", err, tc.err)
			}
		})
	}
}

// What the kubelet sends, plus Basic auth from URL credentials as net/http
// would; the credentials never appear in errors.
func TestHTTPProbeRequest(t *testing.T) {
	addr, reqs := rawServer(t, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n")
	err := probeURL(t, "http://probe:hunter2@"+addr+"/health/z?full=1&x=%20y", "")
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "http://probe:xxxxx@"+addr) {
		t.Fatalf("probe = %v", err)
	}
	r := <-reqs
	user, pass, ok := r.BasicAuth()
	if r.Method != "GET" || r.RequestURI != "/health/z?full=1&x=%20y" || r.Host != addr || !ok || user != "probe" || pass != "hunter2" ||
		r.Header.Get("User-Agent") != "podkit-probe" || !r.Close || r.Proto != "HTTP/1.1" {
		t.Fatalf("request %s %s %s host %q auth %q/%q/%v headers %v", r.Method, r.RequestURI, r.Proto, r.Host, user, pass, ok, r.Header)
	}
}

func TestHTTPProbeDefaultPortsAndSNI(t *testing.T) {
	for in, want := range map[string]string{
		"http://example.test/":          "example.test:80",
		"https://example.test/":         "example.test:443",
		"http://[::1]:8080/":            "[::1]:8080",
		"https://10.0.0.1/":             "10.0.0.1:443",
		"https://u:p@example.test:8443": "example.test:8443",
	} {
		u, _ := url.Parse(in)
		p, err := newHTTPProber(u, "")
		if err != nil {
			t.Fatal(err)
		}
		if p.addr != want {
			t.Errorf("%s dials %s, want %s", in, p.addr, want)
		}
		if p.tls != nil && (p.tls.ServerName == "") != (net.ParseIP(u.Hostname()) != nil) {
			t.Errorf("%s: SNI %q", in, p.tls.ServerName)
		}
	}
}

// Shutdown unblocks a probe that has no deadline.
func TestHTTPProbeCancel(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hang }))
	defer srv.Close()
	defer close(hang)
	p, err := newProber(srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := p.probe(ctx); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("probe = %v, want context canceled", err)
	}
}
