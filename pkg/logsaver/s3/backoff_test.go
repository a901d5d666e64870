package s3

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

type always503 struct{ n int }

func (a *always503) RoundTrip(req *http.Request) (*http.Response, error) {
	a.n++
	return &http.Response{StatusCode: http.StatusInternalServerError, Body: io.NopCloser(strings.NewReader("")), Request: req, Header: http.Header{}}, nil
}

// Five tries wait 1+2+4+8 s, each jittered into [d/2, d).
func TestBackoffTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &always503{}
		s, err := New(Config{
			URL:         "s3://logs/x?endpoint=http://127.0.0.1:1",
			Credentials: &Credentials{AccessKeyID: "id", SecretAccessKey: "s"},
			Client:      &http.Client{Transport: rt},
			Backoff:     time.Second,
			Logger:      slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = s.Send(t.Context(), batch("f", 0, 1))
		waited := time.Since(start)
		if err == nil || errors.Is(err, ErrPermanent) || rt.n != 5 {
			t.Fatalf("Send: %v after %d tries; want a retryable error after 5", err, rt.n)
		}
		if waited < 7500*time.Millisecond || waited > 15*time.Second {
			t.Errorf("waited %s, want 7.5-15 s", waited)
		}
	})
}

func TestBackoffCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Config{
			URL:         "s3://logs/x?endpoint=http://127.0.0.1:1",
			Credentials: &Credentials{AccessKeyID: "id", SecretAccessKey: "s"},
			Client:      &http.Client{Transport: &always503{}},
			Backoff:     time.Minute,
			Logger:      slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := s.Send(ctx, batch("f", 0, 1)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send: %v, want the context's deadline", err)
		}
	})
}

func TestBackoffBounds(t *testing.T) {
	s := &Sink{backoff: 500 * time.Millisecond}
	for n := 1; n < 100; n++ {
		d := s.backoffFor(n)
		want := min(500*time.Millisecond<<min(n-1, 20), maxBackoff)
		if d < want/2 || d > want {
			t.Fatalf("backoffFor(%d) = %s, want [%s, %s]", n, d, want/2, want)
		}
	}
}
