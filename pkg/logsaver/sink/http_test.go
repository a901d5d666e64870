package sink

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// collector is a test HTTP server answering from a script of statuses
// (then 200) and keeping what it was sent.
type collector struct {
	mu      sync.Mutex
	script  []func(w http.ResponseWriter)
	bodies  [][]byte // decoded
	headers []http.Header
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err == nil && r.Header.Get("Content-Encoding") == "gzip" {
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(body)); err == nil {
			body, err = io.ReadAll(zr)
		}
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.bodies = append(c.bodies, body)
	c.headers = append(c.headers, r.Header.Clone())
	var step func(w http.ResponseWriter)
	if len(c.script) > 0 {
		step, c.script = c.script[0], c.script[1:]
	}
	c.mu.Unlock()
	if step != nil {
		step(w)
	}
}

func status(code int, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, "echo: Bearer tok3n\n")
	}
}

func (c *collector) requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.bodies)
}

// sleeps records the delays a sink asked for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
	// then, if set, runs on each sleep with its index; its error is
	// returned.
	then func(i int) error
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	i := len(s.d) - 1
	s.mu.Unlock()
	if s.then != nil {
		return s.then(i)
	}
	return ctx.Err()
}

func newHTTPSink(t *testing.T, rawURL string, opts Options) *HTTP {
	t.Helper()
	s, err := Parse(rawURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.(*HTTP)
}

// maxJitter makes the full-jitter delay its upper bound, so the exponential
// caps are visible.
func maxJitter(d time.Duration) time.Duration { return d }

func TestHTTPRetry5xxThenSuccess(t *testing.T) {
	c := &collector{script: []func(http.ResponseWriter){status(500), status(502), status(503), status(408)}}
	srv := httptest.NewServer(c)
	defer srv.Close()
	var sl sleeps
	s := newHTTPSink(t, srv.URL+"/ingest?backoff-base=1s&backoff-max=5s", Options{Sleep: sl.sleep, Jitter: maxJitter})
	b := makeBatch(0, 10, 100)
	if err := s.Send(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second}
	if !slicesEqual(sl.d, want) {
		t.Errorf("delays %v, want %v", sl.d, want)
	}
	if c.requests() != 5 {
		t.Errorf("%d requests, want 5", c.requests())
	}
	for i, body := range c.bodies {
		if !bytes.Equal(body, b.NDJSON) {
			t.Errorf("request %d: body differs", i)
		}
		if ct := c.headers[i].Get("Content-Type"); ct != "application/x-ndjson" {
			t.Errorf("request %d: Content-Type %q", i, ct)
		}
	}
	st := s.Stats()
	if st.Acked != 1 || st.Retried != 4 || st.Failed != 0 || st.Records != 10 || st.Bytes != uint64(len(b.NDJSON)) {
		t.Errorf("Stats = %+v", st)
	}
}

func slicesEqual(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestHTTPFullJitterBounded(t *testing.T) {
	c := &collector{}
	for range 30 {
		c.script = append(c.script, status(500))
	}
	srv := httptest.NewServer(c)
	defer srv.Close()
	var sl sleeps
	var caps []time.Duration
	jitter := func(d time.Duration) time.Duration { caps = append(caps, d); return d / 2 }
	s := newHTTPSink(t, srv.URL+"?backoff-base=100ms&backoff-max=2s", Options{Sleep: sl.sleep, Jitter: jitter})
	if err := s.Send(t.Context(), makeBatch(0, 1, 100)); err != nil {
		t.Fatal(err)
	}
	for i, d := range caps {
		if d > 2*time.Second || d <= 0 {
			t.Errorf("retry %d: jitter bound %s outside (0, 2s]", i, d)
		}
		if sl.d[i] != d/2 {
			t.Errorf("retry %d: slept %s, want the jittered %s", i, sl.d[i], d/2)
		}
	}
	if len(caps) != 30 || caps[29] != 2*time.Second {
		t.Errorf("caps %v", caps)
	}
	// The default jitter stays within its bound.
	var o Options
	for range 1000 {
		if d := o.jitter(time.Second); d < 0 || d > time.Second {
			t.Fatalf("jitter(1s) = %s", d)
		}
	}
}

func TestHTTP429RetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	c := &collector{script: []func(http.ResponseWriter){
		status(429, "Retry-After", "7"),
		status(429, "Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)),
		status(503, "Retry-After", "120"),
		status(429, "Retry-After", "86400"), // capped
		status(429),                         // no Retry-After: backoff
	}}
	srv := httptest.NewServer(c)
	defer srv.Close()
	var sl sleeps
	s := newHTTPSink(t, srv.URL+"?backoff-base=1s&backoff-max=5s", Options{Sleep: sl.sleep, Jitter: maxJitter, Now: func() time.Time { return now }})
	if err := s.Send(t.Context(), makeBatch(0, 3, 100)); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{7 * time.Second, 90 * time.Second, 120 * time.Second, maxRetryAfter, 5 * time.Second}
	if !slicesEqual(sl.d, want) {
		t.Errorf("delays %v, want %v", sl.d, want)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-5", 0}, {"3", 3 * time.Second}, {"soon", 0},
		{"99999999999999999999", 0}, {"9999999999", maxRetryAfter},
		{now.Add(time.Minute).Format(http.TimeFormat), time.Minute},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"Wednesday, 04-Mar-26 05:07:07 GMT", time.Minute}, // RFC 850
	} {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestHTTPPermanent(t *testing.T) {
	for _, code := range []int{400, 401, 403, 404, 413, 422, 300} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			c := &collector{script: []func(http.ResponseWriter){status(code)}}
			srv := httptest.NewServer(c)
			defer srv.Close()
			var sl sleeps
			s := newHTTPSink(t, srv.URL, Options{Sleep: sl.sleep})
			err := s.Send(t.Context(), makeBatch(0, 3, 100))
			if !errors.Is(err, ErrPermanent) {
				t.Fatalf("Send: %v, want ErrPermanent", err)
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Code != code || !strings.Contains(string(se.Body), "echo") {
				t.Errorf("Send: %#v, want a StatusError %d with the body", err, code)
			}
			if strings.Contains(err.Error(), "tok3n") {
				t.Errorf("error %q shows the response body", err)
			}
			if c.requests() != 1 || len(sl.d) != 0 {
				t.Errorf("%d requests, %d sleeps; want 1, 0", c.requests(), len(sl.d))
			}
			if st := s.Stats(); st.Failed != 1 || st.Permanent != 1 || st.Acked != 0 {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

func TestHTTPMaxAttempts(t *testing.T) {
	c := &collector{script: []func(http.ResponseWriter){status(500), status(500), status(500), status(500)}}
	srv := httptest.NewServer(c)
	defer srv.Close()
	var sl sleeps
	s := newHTTPSink(t, srv.URL+"?max-attempts=3", Options{Sleep: sl.sleep})
	err := s.Send(t.Context(), makeBatch(0, 3, 100))
	if err == nil || errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("Send: %v, want a retryable give-up", err)
	}
	if c.requests() != 3 {
		t.Errorf("%d requests, want 3", c.requests())
	}
	if st := s.Stats(); st.Failed != 1 || st.Retried != 2 || st.Permanent != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

// TestHTTPConnectionRefusedThenUp starts the server only during the first
// backoff sleep.
func TestHTTPConnectionRefusedThenUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := &collector{}
	srv := httptest.NewUnstartedServer(c)
	defer srv.Close()
	var sl sleeps
	var logs bytes.Buffer
	sl.then = func(i int) error {
		if i == 0 {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			srv.Listener = ln
			srv.Start()
		}
		return nil
	}
	s := newHTTPSink(t, "http://"+addr+"/x", Options{Sleep: sl.sleep, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := s.Send(t.Context(), makeBatch(0, 3, 100)); err != nil {
		t.Fatal(err)
	}
	if len(sl.d) != 1 || c.requests() != 1 {
		t.Errorf("%d sleeps, %d requests; want 1, 1", len(sl.d), c.requests())
	}
	if !strings.Contains(logs.String(), "connection refused") || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("retry not logged at Warn: %s", logs.String())
	}
}

func TestHTTPGzip(t *testing.T) {
	c := &collector{}
	srv := httptest.NewServer(c)
	defer srv.Close()
	s := newHTTPSink(t, srv.URL+"?gzip=1&gzip-level=9", Options{})
	b := makeBatch(0, 100, 100)
	if err := s.Send(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if c.requests() != 1 || c.headers[0].Get("Content-Encoding") != "gzip" || !bytes.Equal(c.bodies[0], b.NDJSON) {
		t.Fatalf("server got %d requests, encoding %q", c.requests(), c.headers[0].Get("Content-Encoding"))
	}
	if st := s.Stats(); st.WireBytes == 0 || st.WireBytes >= st.Bytes {
		t.Errorf("Stats = %+v, want fewer wire bytes than NDJSON bytes", st)
	}
}

// TestHTTPSplit checks max-batch-bytes: parts end at line ends, and a
// retry re-sends only the failed part.
func TestHTTPSplit(t *testing.T) {
	c := &collector{script: []func(http.ResponseWriter){status(200), status(500)}}
	srv := httptest.NewServer(c)
	defer srv.Close()
	var sl sleeps
	s := newHTTPSink(t, srv.URL+"?max-batch-bytes=1000", Options{Sleep: sl.sleep})
	b := makeBatch(0, 25, 100)
	// A single line longer than max-batch-bytes goes alone.
	long := makeBatch(25, 1, 2500)
	b.Records = append(b.Records, long.Records...)
	b.NDJSON = append(b.NDJSON, long.NDJSON...)
	b.NDJSON = append(b.NDJSON, makeBatch(26, 2, 100).NDJSON...)
	if err := s.Send(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for i, body := range c.bodies {
		if i == 1 {
			continue // the failed attempt
		}
		if len(body) > 1000 && bytes.Count(body, []byte("\n")) != 1 {
			t.Errorf("part %d: %d bytes, %d lines", i, len(body), bytes.Count(body, []byte("\n")))
		}
		if !bytes.HasSuffix(body, []byte("\n")) {
			t.Errorf("part %d does not end a line", i)
		}
		got = append(got, body...)
	}
	if !bytes.Equal(c.bodies[1], c.bodies[2]) {
		t.Errorf("retry sent a different part")
	}
	if !bytes.Equal(got, b.NDJSON) {
		t.Errorf("parts hold %d bytes, want %d", len(got), len(b.NDJSON))
	}
	if len(c.bodies) != 6 {
		t.Errorf("%d requests, want 6 (4 parts, the long line alone, one retry)", len(c.bodies))
	}
}

// TestHTTPCredentialsRedacted checks URL credentials and the header
// option are sent but appear in no name, error or log line.
func TestHTTPCredentialsRedacted(t *testing.T) {
	c := &collector{}
	for range 3 {
		c.script = append(c.script, status(500))
	}
	c.script = append(c.script, status(400))
	srv := httptest.NewServer(c)
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	var logs bytes.Buffer
	opts := Options{
		Sleep:  (&sleeps{}).sleep,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Header: http.Header{"X-Api-Key": {"hdrs3cret"}},
	}
	s := newHTTPSink(t, "http://alice:pw-s3cret@"+u.Host+"/in?max-attempts=10", opts)
	err := s.Send(t.Context(), makeBatch(0, 1, 100))
	if !errors.Is(err, ErrPermanent) {
		t.Fatalf("Send: %v", err)
	}
	user, pw, ok := (&http.Request{Header: c.headers[0]}).BasicAuth()
	if !ok || user != "alice" || pw != "pw-s3cret" || c.headers[0].Get("X-Api-Key") != "hdrs3cret" {
		t.Errorf("server got basic auth %q %q %v, key %q", user, pw, ok, c.headers[0].Get("X-Api-Key"))
	}
	// Connection refused: the error names the address, not the password.
	srv.Close()
	s2 := newHTTPSink(t, "http://alice:pw-s3cret@"+u.Host+"/in?max-attempts=2", opts)
	err2 := s2.Send(t.Context(), makeBatch(0, 1, 100))
	if err2 == nil {
		t.Fatal("Send to a closed server: no error")
	}
	for what, text := range map[string]string{"Name": s.Name(), "error": err.Error(), "refused error": err2.Error(), "logs": logs.String()} {
		for _, secret := range []string{"alice", "s3cret"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows %q: %s", what, secret, text)
			}
		}
	}
	if !strings.Contains(logs.String(), "500 Internal Server Error") {
		t.Errorf("logs lack the retried errors: %s", logs.String())
	}
}

// TestHTTPContextCancel checks cancelling ctx during backoff ends Send
// with ctx's error and no more requests.
func TestHTTPContextCancel(t *testing.T) {
	c := &collector{}
	for range 10 {
		c.script = append(c.script, status(503))
	}
	srv := httptest.NewServer(c)
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	sl := sleeps{then: func(i int) error {
		if i == 2 {
			cancel()
			return context.Canceled
		}
		return nil
	}}
	s := newHTTPSink(t, srv.URL, Options{Sleep: sl.sleep})
	err := s.Send(ctx, makeBatch(0, 1, 100))
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrPermanent) {
		t.Fatalf("Send: %v, want context.Canceled", err)
	}
	if c.requests() != 3 {
		t.Errorf("%d requests, want 3", c.requests())
	}
	if st := s.Stats(); st.Failed != 1 || st.Acked != 0 {
		t.Errorf("Stats = %+v", st)
	}
	// The real sleep also returns at once on a cancelled ctx.
	if err := (&Options{}).sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep on cancelled ctx: %v", err)
	}
}

// TestHTTPAttemptTimeout: an attempt that outlives timeout is abandoned and
// retried; the server holds the first request until the client gives up.
func TestHTTPAttemptTimeout(t *testing.T) {
	var n int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			<-r.Context().Done() // held until the client's timeout
		}
	}))
	defer srv.Close()
	var sl sleeps
	s := newHTTPSink(t, srv.URL+"?timeout=20ms", Options{Sleep: sl.sleep})
	if err := s.Send(t.Context(), makeBatch(0, 1, 100)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sl.d) != 1 || n != 2 {
		t.Errorf("%d retries, %d requests; want 1, 2", len(sl.d), n)
	}
}

func TestBackoffCap(t *testing.T) {
	for _, tt := range []struct {
		attempt int
		want    time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {6, 30 * time.Second}, {1000, 30 * time.Second}} {
		if got := backoffCap(time.Second, 30*time.Second, tt.attempt); got != tt.want {
			t.Errorf("backoffCap(1s, 30s, %d) = %s, want %s", tt.attempt, got, tt.want)
		}
	}
}
