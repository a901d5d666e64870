package sink

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/record"
)

// ErrPermanent is matched (errors.Is) by a Send error that retrying cannot
// cure, such as an HTTP 400: the caller drops or parks the batch by policy
// instead of sending it again.
var ErrPermanent = errors.New("permanent")

// StatusError is an HTTP response that was not an acknowledgement.
type StatusError struct {
	Sink       string        // the sink's Name
	Code       int           // HTTP status code
	Status     string        // e.g. "400 Bad Request"
	RetryAfter time.Duration // from Retry-After; 0 if absent
	// Body holds the response body's first bytes, for a debug log; it is
	// not part of Error() since a server may echo the request.
	Body []byte
}

func (e *StatusError) Error() string {
	kind := "retryable"
	if e.Permanent() {
		kind = "permanent"
	}
	return fmt.Sprintf("sink %s: POST: %s (%s)", e.Sink, e.Status, kind)
}

// Permanent reports whether the status means the same request will never
// succeed: a 4xx other than 408 and 429, or any other non-2xx, non-5xx.
func (e *StatusError) Permanent() bool { return !retryableStatus(e.Code) }

// Is makes errors.Is(err, ErrPermanent) true for a permanent status.
func (e *StatusError) Is(target error) bool { return target == ErrPermanent && e.Permanent() }

func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 && code <= 599
}

// HTTPConfig configures an HTTP sink; the zero values of the optional
// fields are the documented defaults (the same as Parse's).
type HTTPConfig struct {
	URL           *url.URL      // required, http or https; user:password is sent as basic auth
	Gzip          bool          // compress bodies, Content-Encoding: gzip
	GzipLevel     int           // 0: gzip.BestSpeed (1)
	Timeout       time.Duration // per attempt, headers and body; 0: 30s
	MaxBatchBytes int64         // 0: 4 MiB; a larger batch goes as several POSTs split at line ends
	MaxAttempts   int           // per POST; 0: retry until ctx is done
	BackoffBase   time.Duration // first retry's cap; 0: 250ms
	BackoffMax    time.Duration // bound on any backoff delay; 0: 5s
}

// Defaults and bounds of HTTP options.
const (
	defaultHTTPTimeout   = 30 * time.Second
	defaultMaxBatchBytes = 4 << 20
	defaultBackoffBase   = 250 * time.Millisecond
	defaultBackoffMax    = 5 * time.Second // a sink back up is used within seconds: the backlog is on disk, waiting costs nothing
	// maxRetryAfter bounds a server's Retry-After, so a bogus date cannot
	// stall the sink for days.
	maxRetryAfter = 15 * time.Minute
	// keptBody is how much of an error response's body StatusError keeps.
	keptBody = 512
)

// HTTP is the http(s) sink: each batch's NDJSON is POSTed (Content-Type
// application/x-ndjson) and any 2xx is an acknowledgement. 5xx, 408, 429
// and connection errors are retried in Send with exponential backoff and
// full jitter (a uniform delay in [0, min(BackoffMax, BackoffBase·2^n)]),
// or after Retry-After when the server sends one; other statuses are
// permanent (*StatusError, ErrPermanent).
type HTTP struct {
	cfg    HTTPConfig
	opts   Options
	name   string
	target string // URL without user info, query or fragment
	user   *url.Userinfo
	client *http.Client
	log    *slog.Logger
	c      counters

	zbuf bytes.Buffer
	zw   *gzip.Writer
}

var (
	_ record.Sink = (*HTTP)(nil)
	_ StatsSource = (*HTTP)(nil)
)

// NewHTTP validates cfg and returns the sink; it does no I/O.
func NewHTTP(cfg HTTPConfig, opts Options) (*HTTP, error) {
	u := cfg.URL
	if u == nil {
		return nil, errors.New("URL: required")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL: scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" || u.Opaque != "" {
		return nil, errors.New("URL: want http(s)://HOST/PATH")
	}
	if cfg.GzipLevel == 0 {
		cfg.GzipLevel = gzip.BestSpeed
	}
	if cfg.GzipLevel < gzip.HuffmanOnly || cfg.GzipLevel > gzip.BestCompression {
		return nil, fmt.Errorf("gzip-level: want 1..9 (got %d)", cfg.GzipLevel)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultHTTPTimeout
	}
	if cfg.MaxBatchBytes == 0 {
		cfg.MaxBatchBytes = defaultMaxBatchBytes
	}
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase = defaultBackoffBase
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = defaultBackoffMax
	}
	switch {
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("timeout: must be > 0 (got %s)", cfg.Timeout)
	case cfg.MaxBatchBytes < 0:
		return nil, fmt.Errorf("max-batch-bytes: must be > 0 (got %d)", cfg.MaxBatchBytes)
	case cfg.MaxAttempts < 0:
		return nil, fmt.Errorf("max-attempts: must be >= 0 (got %d)", cfg.MaxAttempts)
	case cfg.BackoffBase < 0 || cfg.BackoffMax < cfg.BackoffBase:
		return nil, fmt.Errorf("backoff-base, backoff-max: want 0 < base <= max (got %s, %s)", cfg.BackoffBase, cfg.BackoffMax)
	}
	t := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	h := &HTTP{
		cfg:    cfg,
		opts:   opts,
		name:   Redact(u),
		target: t.String(),
		user:   u.User,
		client: opts.Client,
	}
	if h.client == nil {
		tr, ok := http.DefaultTransport.(*http.Transport)
		if !ok {
			tr = &http.Transport{Proxy: http.ProxyFromEnvironment}
		}
		h.client = &http.Client{Transport: tr.Clone()}
	}
	h.log = opts.logger().With("sink", h.name)
	if cfg.Gzip {
		h.zw, _ = gzip.NewWriterLevel(&h.zbuf, cfg.GzipLevel) // level checked above
	}
	return h, nil
}

func newHTTPFromURL(u *url.URL, p *Params, opts Options) (record.Sink, error) {
	cfg := HTTPConfig{
		URL:           u,
		Gzip:          p.Bool("gzip", false),
		GzipLevel:     p.Int("gzip-level", gzip.BestSpeed, 1, 9),
		Timeout:       p.Duration("timeout", defaultHTTPTimeout),
		MaxBatchBytes: p.Bytes("max-batch-bytes", defaultMaxBatchBytes),
		MaxAttempts:   p.Int("max-attempts", 0, 0, 1<<30),
		BackoffBase:   p.Duration("backoff-base", defaultBackoffBase),
		BackoffMax:    p.Duration("backoff-max", defaultBackoffMax),
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 || cfg.MaxBatchBytes == 0 || cfg.BackoffBase == 0 {
		return nil, errors.New("timeout, max-batch-bytes, backoff-base: must be > 0")
	}
	s, err := NewHTTP(cfg, opts)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return s, nil
}

// Name is the URL without user info or query.
func (h *HTTP) Name() string { return h.name }

// Stats returns the sink's counters.
func (h *HTTP) Stats() Stats { return h.c.snapshot() }

// Close closes idle connections.
func (h *HTTP) Close() error {
	h.client.CloseIdleConnections()
	return nil
}

// Send POSTs b, split at line ends into bodies of at most MaxBatchBytes
// (a single longer line goes alone). It returns nil once every part got a
// 2xx; parts already acknowledged are not re-sent within this call.
func (h *HTTP) Send(ctx context.Context, b *record.Batch) error {
	wire := 0
	for data := b.NDJSON; len(data) > 0; {
		part := nextPart(data, h.cfg.MaxBatchBytes)
		n, err := h.post(ctx, part)
		if err != nil {
			h.c.failed.Add(1)
			if errors.Is(err, ErrPermanent) {
				h.c.permanent.Add(1)
			}
			return err
		}
		wire += n
		data = data[len(part):]
	}
	h.c.ack(b.Len(), len(b.NDJSON), wire)
	return nil
}

// nextPart is the longest prefix of data ending in '\n' and not longer than
// max, or the first line if that alone is longer.
func nextPart(data []byte, max int64) []byte {
	if int64(len(data)) <= max {
		return data
	}
	if i := bytes.LastIndexByte(data[:max], '\n'); i >= 0 {
		return data[:i+1]
	}
	if i := bytes.IndexByte(data[max:], '\n'); i >= 0 {
		return data[:int(max)+i+1]
	}
	return data
}

// post sends one body, retrying; it returns the bytes on the wire.
func (h *HTTP) post(ctx context.Context, part []byte) (int, error) {
	body := part
	if h.zw != nil {
		h.zbuf.Reset()
		h.zw.Reset(&h.zbuf)
		if _, err := h.zw.Write(part); err != nil {
			return 0, fmt.Errorf("sink %s: gzip: %w", h.name, err)
		}
		if err := h.zw.Close(); err != nil {
			return 0, fmt.Errorf("sink %s: gzip: %w", h.name, err)
		}
		body = h.zbuf.Bytes()
	}
	for attempt := 1; ; attempt++ {
		retryAfter, err := h.try(ctx, body)
		if err == nil {
			return len(body), nil
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("sink %s: %w (last error: %w)", h.name, ctx.Err(), err)
		}
		if errors.Is(err, ErrPermanent) {
			return 0, err
		}
		if h.cfg.MaxAttempts > 0 && attempt >= h.cfg.MaxAttempts {
			return 0, fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		delay := retryAfter
		if delay <= 0 {
			delay = h.opts.jitter(backoffCap(h.cfg.BackoffBase, h.cfg.BackoffMax, attempt))
		}
		h.c.retried.Add(1)
		h.log.Warn("sink send failed, retrying", "attempt", attempt, "delay", delay.String(), "err", err)
		if serr := h.opts.sleep(ctx, delay); serr != nil {
			return 0, fmt.Errorf("sink %s: %w (last error: %w)", h.name, serr, err)
		}
	}
}

// backoffCap is min(max, base·2^(attempt-1)), the bound of the attempt-th
// retry's delay.
func backoffCap(base, max time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// try makes one POST. A retryable failure may come with the server's
// Retry-After.
func (h *HTTP) try(ctx context.Context, body []byte) (time.Duration, error) {
	actx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, h.target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("sink %s: %w: %w", h.name, ErrPermanent, err)
	}
	for k, vs := range h.opts.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if h.zw != nil {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "podkit-logsaver")
	}
	if h.user != nil && req.Header.Get("Authorization") == "" {
		pw, _ := h.user.Password()
		req.SetBasicAuth(h.user.Username(), pw)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL
		}
		return 0, fmt.Errorf("sink %s: POST: %w", h.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		return 0, nil
	}
	kept, _ := io.ReadAll(io.LimitReader(resp.Body, keptBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	se := &StatusError{Sink: h.name, Code: resp.StatusCode, Status: resp.Status, Body: kept}
	if se.Status == "" {
		se.Status = strconv.Itoa(resp.StatusCode)
	}
	if !se.Permanent() {
		se.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), h.opts.now())
	}
	return se.RetryAfter, se
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date
// (RFC 9110 section 10.2.3), capped at maxRetryAfter; 0 if absent or bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(t.Sub(now), 0), maxRetryAfter)
}
