package hook

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// hookServer records the webhook requests it gets and answers with the
// statuses it is given, then 200.
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	reqs     []recorded
}

type recorded struct {
	method, hash, user, pass string
	bodyLen                  int
}

func newHookServer(t *testing.T, statuses ...int) *hookServer {
	s := &hookServer{statuses: statuses}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		user, pass, _ := r.BasicAuth()
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{r.Method, r.Header.Get("Gitsync-Hash"), user, pass, len(b)})
		status := http.StatusOK
		if len(s.statuses) > 0 {
			status, s.statuses = s.statuses[0], s.statuses[1:]
		}
		s.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *hookServer) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

func TestWebhookSendsHash(t *testing.T) {
	for _, method := range []string{"", "PUT"} {
		t.Run("method="+method, func(t *testing.T) {
			s := newHookServer(t)
			w := &Webhook{URL: s.URL + "/reload", Method: method, SuccessStatus: 200}
			if err := w.Run(t.Context(), "0123abc", "/ignored"); err != nil {
				t.Fatal(err)
			}
			want := recorded{method: method, hash: "0123abc"}
			if method == "" {
				want.method = "POST" // git-sync's default
			}
			if got := s.requests(); len(got) != 1 || got[0] != want {
				t.Fatalf("requests = %+v, want one %+v with an empty body", got, want)
			}
		})
	}
}

func TestWebhookStatusMismatch(t *testing.T) {
	s := newHookServer(t, http.StatusNoContent)
	w := &Webhook{URL: s.URL, SuccessStatus: 200}
	err := w.Run(t.Context(), "h", "")
	if err == nil || !strings.Contains(err.Error(), "status 204, want 200") {
		t.Fatalf("err = %v, want a status mismatch", err)
	}
}

func TestWebhookRetriedUntilSuccess(t *testing.T) {
	s := newHookServer(t, 500, 503) // then 200
	m, _ := NewMetrics(nil)
	q := NewQueue(&Webhook{URL: s.URL, SuccessStatus: 200}, 1, testLogger(t, nil), m)
	runQueue(t, q)
	q.Send("h1", "")
	eventually(t, "h1 delivered", func() bool { return q.LastHash() == "h1" })
	if n := len(s.requests()); n != 3 {
		t.Fatalf("%d requests, want 3 (two failures, one success)", n)
	}
	ok := testutil.ToFloat64(m.runs.WithLabelValues("webhook", "success"))
	failed := testutil.ToFloat64(m.runs.WithLabelValues("webhook", "error"))
	if ok != 1 || failed != 2 {
		t.Fatalf("runs success=%v error=%v, want 1, 2", ok, failed)
	}
}

func TestWebhookFireAndForget(t *testing.T) {
	refused := httptest.NewServer(http.NotFoundHandler())
	refused.Close() // its address now refuses connections
	for _, status := range []int{NoStatusCheck, 0} {
		s := newHookServer(t, 500)
		for _, url := range []string{s.URL, refused.URL} {
			w := &Webhook{URL: url, SuccessStatus: status, Logger: testLogger(t, nil)}
			if err := w.Run(t.Context(), "h", ""); err != nil {
				t.Errorf("status %d, %s: err = %v, want nil (fire-and-forget)", status, url, err)
			}
		}
		if n := len(s.requests()); n != 1 {
			t.Errorf("status %d: %d requests, want 1", status, n)
		}
	}
	// The same failures count when the status is checked.
	w := &Webhook{URL: refused.URL, SuccessStatus: 200}
	if err := w.Run(t.Context(), "h", ""); err == nil {
		t.Error("refused connection with a status check: err = nil")
	}
}

func TestWebhookTimeout(t *testing.T) {
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer s.Close()
	defer close(release)
	w := &Webhook{URL: s.URL, SuccessStatus: 200, Timeout: 20e6}
	err := w.Run(t.Context(), "h", "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline exceeded", err)
	}
}

func TestWebhookRedactsCredentials(t *testing.T) {
	const user, pass = "alice", "s3cret"
	s := newHookServer(t, 500, 500)
	credURL := strings.Replace(s.URL, "http://", "http://"+user+":"+pass+"@", 1)
	refused := httptest.NewServer(http.NotFoundHandler())
	refused.Close()
	refusedURL := strings.Replace(refused.URL, "http://", "http://"+user+":"+pass+"@", 1)

	logs := &lockedBuffer{}
	log := testLogger(t, logs)
	q := NewQueue(&Webhook{URL: credURL, SuccessStatus: 200}, 1, log, nil)
	runQueue(t, q)
	q.Send("h1", "")
	eventually(t, "h1 delivered", func() bool { return q.LastHash() == "h1" })

	var outputs []string
	outputs = append(outputs, logs.String())
	for _, w := range []*Webhook{
		{URL: refusedURL, SuccessStatus: 200},
		{URL: strings.Replace(refusedURL, "http", "ftp", 1), SuccessStatus: 200},
		{URL: "http://" + user + ":" + pass + "/x@host", SuccessStatus: 200}, // url.Parse quotes part of it
		{URL: "http://" + user + ":" + pass + "@", SuccessStatus: 200},
	} {
		err := w.Run(t.Context(), "h", "")
		if err == nil {
			t.Fatalf("%s: Run succeeded", w.URL)
		}
		outputs = append(outputs, err.Error())
		if err := w.Validate(); err != nil {
			outputs = append(outputs, err.Error())
		}
	}
	fire := &lockedBuffer{}
	_ = (&Webhook{URL: refusedURL, SuccessStatus: -1, Logger: testLogger(t, fire)}).Run(t.Context(), "h", "")
	outputs = append(outputs, fire.String())

	for _, out := range outputs {
		t.Log(out)
		if strings.Contains(out, pass) || strings.Contains(out, user) {
			t.Errorf("credentials in output: %s", out)
		}
	}
	if !strings.Contains(outputs[0], "hook failed") || !strings.Contains(fire.String(), "webhook failed") {
		t.Fatal("the failures were not logged, so the check above proves nothing")
	}
	// Redaction is for output only: the request still authenticates.
	if r := s.requests(); r[0].user != user || r[0].pass != pass {
		t.Fatalf("server saw user %q password %q", r[0].user, r[0].pass)
	}
}
