// Package s3 is the s3:// sink of podkit logsaver, the log-saving sidecar
// (Burns & Oppenheimer 2016, section 4.1): each batch becomes one gzip'd
// NDJSON object, under a key that sorts by upload time and is never
// overwritten. It replaces the s3 outputs of fluent-bit and Vector, and
// talks to S3 and S3-compatible servers (versitygw, MinIO) with the
// standard library alone: SigV4 signing is in sigv4.go.
package s3

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/record"
)

// Config configures a Sink.
type Config struct {
	// URL is required: s3://BUCKET/PREFIX?endpoint=URL&region=REGION&path-style=1.
	// See ParseURL for the options.
	URL string
	// Credentials sign the requests; nil: LoadCredentials(os.Getenv), so
	// the AWS_* variables or the shared credentials file.
	Credentials *Credentials
	// Client sends the requests; nil: a client with a 60 s timeout per
	// request. Redirects are never followed (S3 answers a wrong region
	// with one): they are permanent errors.
	Client *http.Client
	// Attempts bounds the tries of one Send against 5xx answers and
	// connection errors; 0 means 5. After the last, Send returns a
	// retryable error and logsaver sends the batch again later.
	Attempts int
	// Backoff is the wait before the second try, doubled for each further
	// one up to 30 s, with jitter; 0 means 500ms.
	Backoff time.Duration
	Logger  *slog.Logger // nil: slog.Default()
}

const maxBackoff = 30 * time.Second

// New validates cfg and returns a Sink. It starts nothing; unless
// cfg.Credentials is set, it reads the credentials from the environment
// (and the shared credentials file), so that missing ones fail at startup
// rather than at the first batch.
func New(cfg Config) (*Sink, error) {
	loc, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Attempts < 0:
		return nil, fmt.Errorf("s3: Attempts: must be >= 0 (got %d)", cfg.Attempts)
	case cfg.Backoff < 0:
		return nil, fmt.Errorf("s3: Backoff: must be >= 0 (got %s)", cfg.Backoff)
	}
	var creds Credentials
	if cfg.Credentials != nil {
		creds = *cfg.Credentials
		if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
			return nil, errors.New("s3: Credentials: access key id and secret access key are required")
		}
	} else if creds, err = LoadCredentials(os.Getenv); err != nil {
		return nil, err
	}
	s := &Sink{
		loc:      loc,
		creds:    creds,
		client:   cfg.Client,
		attempts: cfg.Attempts,
		backoff:  cfg.Backoff,
		log:      cfg.Logger,
		now:      time.Now,
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 60 * time.Second}
		s.ownClient = true
	}
	// Never follow redirects: they would resend the body elsewhere, and an
	// S3 redirect means a misconfigured endpoint or region.
	c := *s.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s.client = &c
	if s.attempts == 0 {
		s.attempts = 5
	}
	if s.backoff == 0 {
		s.backoff = 500 * time.Millisecond
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("sink", s.Name())
	return s, nil
}

var _ record.Sink = (*Sink)(nil)
