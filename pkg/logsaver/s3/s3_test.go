package s3

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/proctest"
	"github.com/podkit/podkit/internal/s3test"
	"github.com/podkit/podkit/pkg/logsaver/record"
)

// batch encodes n records of file as NDJSON.
func batch(file string, from, n int) *record.Batch {
	b := &record.Batch{}
	for i := from; i < from+n; i++ {
		r := record.Record{Line: fmt.Appendf(nil, "line %d \"quoted\" ü", i), File: file, Offset: int64(i * 100), Time: time.Unix(1700000000, int64(i)).UTC()}
		b.Records = append(b.Records, r)
		b.NDJSON = record.AppendNDJSON(b.NDJSON, &r, []record.Label{{Name: "pod", Value: "web-0"}})
	}
	return b
}

func newSink(t *testing.T, srv *s3test.Server, url string, mod func(*Config)) *Sink {
	t.Helper()
	cfg := Config{
		URL:         url,
		Credentials: &Credentials{AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey},
		Backoff:     10 * time.Millisecond,
		Logger:      slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// get reads key back, as a user of the bucket would.
func (s *Sink) get(ctx context.Context, key string) ([]byte, error) {
	resp, err := s.do(ctx, http.MethodGet, key, nil, nil, emptySHA256)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, s.answerError(resp, key)
	}
	return io.ReadAll(resp.Body)
}

// list is every key under the sink's prefix, in the server's (lexical) order.
func (s *Sink) list(ctx context.Context) ([]string, error) {
	resp, err := s.do(ctx, http.MethodGet, "?list-type=2&prefix="+escape(s.loc.Prefix, true), nil, nil, emptySHA256)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, s.answerError(resp, "")
	}
	var doc struct {
		Keys        []string `xml:"Contents>Key"`
		IsTruncated bool
	}
	if err := xml.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, err
	}
	if doc.IsTruncated {
		return nil, errors.New("list truncated")
	}
	return doc.Keys, nil
}

// transport is a fresh one whose idle connections end with the test.
func transport(t *testing.T) *http.Transport {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func gunzip(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

func TestUploadAndReadBack(t *testing.T) {
	srv := s3test.Start(t, "logs")
	s := newSink(t, srv, "s3://logs/app/web?endpoint="+srv.Endpoint+"&region="+srv.Region, nil)
	if got := s.Name(); got != "s3://logs/app/web/" {
		t.Errorf("Name = %q", got)
	}
	var sent [][]byte
	for i := range 3 {
		b := batch("/var/log/app.log", i*1000, 500)
		if err := s.Send(t.Context(), b); err != nil {
			t.Fatalf("Send: %v", err)
		}
		sent = append(sent, b.NDJSON)
	}
	if err := s.Send(t.Context(), &record.Batch{}); err != nil {
		t.Fatalf("Send(empty): %v", err)
	}
	keys, err := s.list(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("%d objects, want 3 (one per non-empty batch): %q", len(keys), keys)
	}
	for i, k := range keys {
		if !strings.HasPrefix(k, "app/web/") || !strings.HasSuffix(k, ".ndjson.gz") {
			t.Errorf("key %q: want app/web/….ndjson.gz", k)
		}
		data, err := s.get(t.Context(), k)
		if err != nil {
			t.Fatal(err)
		}
		if got := gunzip(t, data); !bytes.Equal(got, sent[i]) {
			t.Errorf("object %d (%s): %d bytes after gunzip, want the batch's %d NDJSON bytes", i, k, len(got), len(sent[i]))
		}
	}
}

// If-None-Match: * is what makes "never overwrite" hold server-side, even
// against another writer: a second PUT to a key gets 412.
func TestIfNoneMatchPreventsOverwrite(t *testing.T) {
	srv := s3test.Start(t, "logs")
	s := newSink(t, srv, "s3://logs/x?endpoint="+srv.Endpoint, nil)
	put := func(body string) error {
		sum := md5.Sum([]byte(body))
		sha := sha256.Sum256([]byte(body))
		return s.put(t.Context(), "x/fixed.ndjson.gz", object{body: []byte(body), md5: sum[:], sha256: hex.EncodeToString(sha[:])})
	}
	if err := put("first"); err != nil {
		t.Fatal(err)
	}
	err := put("second")
	var e *Error
	if !errors.Is(err, errExists) || !errors.As(err, &e) || e.Status != http.StatusPreconditionFailed {
		t.Fatalf("second PUT: %v, want a 412", err)
	}
	got, err := s.get(t.Context(), "x/fixed.ndjson.gz")
	if err != nil || string(got) != "first" {
		t.Fatalf("object = %q, %v; want the first body", got, err)
	}
}

// A key already taken (another writer, or a clock far ahead) makes Send
// pick a new one, never overwrite.
func TestSendPicksNewKeyOnCollision(t *testing.T) {
	srv := s3test.Start(t, "logs")
	s := newSink(t, srv, "s3://logs/x?endpoint="+srv.Endpoint, nil)
	fixed := time.Date(2026, 11, 29, 10, 15, 0, 123456789, time.UTC)
	s.now = func() time.Time { return fixed }
	if err := s.Send(t.Context(), batch("a", 0, 10)); err != nil {
		t.Fatal(err)
	}
	keys, _ := s.list(t.Context())
	// The same time and the same random part: only the time can be forced
	// here, so collide by replaying the first key's name.
	crandSaved := crandRead
	t.Cleanup(func() { crandRead = crandSaved })
	crandRead = func(b []byte) (int, error) { clear(b); return len(b), nil }
	s.last = time.Time{}
	if err := s.Send(t.Context(), batch("b", 0, 10)); err != nil {
		t.Fatal(err)
	}
	s.last = time.Time{}
	if err := s.Send(t.Context(), batch("c", 0, 10)); err != nil {
		t.Fatal(err)
	}
	after, err := s.list(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || len(after) != 3 {
		t.Fatalf("objects before %q, after %q: want 1 then 3", keys, after)
	}
	want := "x/2026/11/29/10/20261129T101500.123456789Z-0000000000000000.ndjson.gz"
	if !slices.Contains(after, want) {
		t.Errorf("keys %q lack %q", after, want)
	}
}

// Keys sort by time: listing (lexical order) returns the uploads in
// order, across an hour boundary and a clock that steps back.
func TestKeysSortByTime(t *testing.T) {
	srv := s3test.Start(t, "logs")
	s := newSink(t, srv, "s3://logs/sorted?endpoint="+srv.Endpoint, nil)
	base := time.Date(2026, 12, 31, 23, 59, 59, 999999998, time.UTC)
	clock := []time.Time{base, base.Add(1), base.Add(2), base.Add(-time.Hour), base.Add(time.Second), base.Add(10 * time.Hour)}
	i := 0
	s.now = func() time.Time { return clock[min(i, len(clock)-1)] }
	for i = range clock {
		if err := s.Send(t.Context(), batch("f", i, 1)); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := s.list(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(clock) {
		t.Fatalf("%d keys, want %d", len(keys), len(clock))
	}
	for i, k := range keys {
		data, err := s.get(t.Context(), k)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(`"offset":%d,`, i*100); !bytes.Contains(gunzip(t, data), []byte(want)) {
			t.Errorf("key %d %s holds another batch than the %dth sent", i, k, i)
		}
	}
	if !strings.HasPrefix(keys[0], "sorted/2026/12/31/23/20261231T235959.999999998Z-") ||
		!strings.HasPrefix(keys[4], "sorted/2027/01/01/00/20270101T000000.999999998Z-") {
		t.Errorf("keys %q", keys)
	}
}

func TestWrongSecretIsPermanent(t *testing.T) {
	srv := s3test.Start(t, "logs")
	const wrong = "not-the-secret-4f2a"
	s := newSink(t, srv, "s3://logs/x?endpoint="+srv.Endpoint, func(c *Config) {
		c.Credentials = &Credentials{AccessKeyID: srv.AccessKey, SecretAccessKey: wrong}
	})
	start := time.Now()
	err := s.Send(t.Context(), batch("f", 0, 10))
	var e *Error
	if !errors.Is(err, ErrPermanent) || !errors.As(err, &e) || e.Status != http.StatusForbidden {
		t.Fatalf("Send: %v, want a permanent 403", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("a permanent error took %s: was it retried?", time.Since(start))
	}
	for _, secret := range []string{wrong, srv.SecretKey} {
		if strings.Contains(err.Error(), secret) || strings.Contains(s.Name(), secret) {
			t.Errorf("error %q or name %q shows a secret", err, s.Name())
		}
	}
	t.Logf("error: %v", err)
}

func TestMissingBucketIsPermanent(t *testing.T) {
	srv := s3test.Start(t)
	s := newSink(t, srv, "s3://nobucket/x?endpoint="+srv.Endpoint, nil)
	err := s.Send(t.Context(), batch("f", 0, 1))
	if !errors.Is(err, ErrPermanent) {
		t.Fatalf("Send: %v, want a permanent error", err)
	}
}

func TestServerDownIsRetryable(t *testing.T) {
	addr := proctest.FreeAddr(t) // nothing listens there
	s, err := New(Config{
		URL:         "s3://logs/x?endpoint=http://" + addr,
		Credentials: &Credentials{AccessKeyID: "id", SecretAccessKey: "down-secret"},
		Attempts:    3,
		Backoff:     time.Millisecond,
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(t.Context(), batch("f", 0, 1))
	if err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("Send: %v, want a retryable error", err)
	}
	if !strings.Contains(err.Error(), "3 tries") || strings.Contains(err.Error(), "down-secret") {
		t.Errorf("error %q: want 3 tries, no secret", err)
	}
}

// flaky answers the first n requests with status (0: a connection error
// after the real server handled the request: a lost answer).
type flaky struct {
	n      atomic.Int32
	status int
	next   http.RoundTripper
	seen   atomic.Int32
}

func (f *flaky) RoundTrip(req *http.Request) (*http.Response, error) {
	f.seen.Add(1)
	if f.n.Add(-1) < 0 {
		return f.next.RoundTrip(req)
	}
	if f.status == 0 {
		resp, err := f.next.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		return nil, errors.New("connection reset (test)")
	}
	return &http.Response{StatusCode: f.status, Body: io.NopCloser(strings.NewReader("<Error><Code>SlowDown</Code></Error>")), Request: req, Header: http.Header{}}, nil
}

func TestRetries5xxThenStores(t *testing.T) {
	srv := s3test.Start(t, "logs")
	f := &flaky{status: http.StatusServiceUnavailable, next: transport(t)}
	f.n.Store(2)
	s := newSink(t, srv, "s3://logs/x?endpoint="+srv.Endpoint, func(c *Config) { c.Client = &http.Client{Transport: f} })
	if err := s.Send(t.Context(), batch("f", 0, 10)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if keys, _ := s.list(t.Context()); len(keys) != 1 || f.seen.Load() != 4 {
		t.Fatalf("%d requests, objects %q: want 3 PUTs (+1 list), one object", f.seen.Load(), keys)
	}
}

// A PUT stored whose answer was lost: the retry meets 412 on its own
// object, sees its MD5 there, and counts the batch delivered rather than
// storing it twice.
func TestLostAnswerStoresOnce(t *testing.T) {
	srv := s3test.Start(t, "logs")
	f := &flaky{next: transport(t)}
	f.n.Store(1)
	s := newSink(t, srv, "s3://logs/x?endpoint="+srv.Endpoint, func(c *Config) { c.Client = &http.Client{Transport: f} })
	if err := s.Send(t.Context(), batch("f", 0, 10)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	keys, err := s.list(t.Context())
	if err != nil || len(keys) != 1 {
		t.Fatalf("objects %q, %v: want exactly one", keys, err)
	}
}

func TestSendHonoursContext(t *testing.T) {
	addr := proctest.FreeAddr(t)
	s, err := New(Config{
		URL:         "s3://logs/x?endpoint=http://" + addr,
		Credentials: &Credentials{AccessKeyID: "id", SecretAccessKey: "s"},
		Backoff:     time.Hour,
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Send(ctx, batch("f", 0, 1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send: %v, want the context's error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Send took %s after its context ended", d)
	}
}
