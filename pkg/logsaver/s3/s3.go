package s3

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/record"
)

// Sink uploads each batch as one object: PREFIX/YYYY/MM/DD/HH/
// YYYYMMDDTHHMMSS.NNNNNNNNNZ-RANDOM.ndjson.gz, gzip'd NDJSON, Content-Type
// application/gzip. Keys sort by upload time (strictly increasing within
// one Sink; the random part keeps two Sinks writing one prefix apart). Each
// PUT carries If-None-Match: *, so an object is never overwritten, even by
// another writer: a 412 means the key is taken, and Send picks another
// (unless the object there is this body, put by an earlier try whose answer
// was lost — then the batch is delivered).
type Sink struct {
	loc       Location
	creds     Credentials
	client    *http.Client
	ownClient bool
	attempts  int
	backoff   time.Duration
	log       *slog.Logger
	now       func() time.Time // for keys; requests are signed with time.Now
	last      time.Time        // the previous key's time

	buf bytes.Buffer // the compressed batch, reused
	gz  *gzip.Writer
}

// ErrPermanent is matched (errors.Is) by errors that sending again cannot
// fix: a 4xx answer such as a wrong secret (403), a missing bucket (404)
// or a redirect to another region. logsaver still keeps the batch; an
// operator must act.
var ErrPermanent = errors.New("permanent")

// Error is an error answer of the server.
type Error struct {
	Method  string // PUT, HEAD, GET
	Bucket  string
	Key     string
	Status  int    // the HTTP status
	Code    string // S3's error code (SignatureDoesNotMatch, NoSuchBucket); may be ""
	Message string // S3's message, at most 200 bytes
}

func (e *Error) Error() string {
	s := fmt.Sprintf("s3: %s %s/%s: %d %s", e.Method, e.Bucket, e.Key, e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is matches ErrPermanent for answers a retry cannot change: 3xx and 4xx
// except 408 Request Timeout and 429 Too Many Requests.
func (e *Error) Is(target error) bool { return target == ErrPermanent && permanent(e.Status) }

func permanent(status int) bool {
	return status >= 300 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// Name is s3://BUCKET/PREFIX: no endpoint, options or credentials.
func (s *Sink) Name() string { return "s3://" + s.loc.Bucket + "/" + s.loc.Prefix }

// Close releases idle connections; the Sink holds nothing else.
func (s *Sink) Close() error {
	if s.ownClient {
		s.client.CloseIdleConnections()
	}
	return nil
}

// maxCollisions bounds the keys tried for one batch: with 64 random bits a
// second collision means something else is wrong.
const maxCollisions = 5

// Send uploads b as one object and returns nil once S3 answered 2xx, so
// the object is stored. An empty batch uploads nothing. 5xx, 408, 429 and
// connection errors are tried again, up to Config.Attempts times with
// backoff; a 4xx is returned at once and matches ErrPermanent.
func (s *Sink) Send(ctx context.Context, b *record.Batch) error {
	if len(b.NDJSON) == 0 {
		return nil
	}
	body, err := s.compress(b.NDJSON)
	if err != nil {
		return err
	}
	sum := md5.Sum(body)
	sha := sha256.Sum256(body)
	obj := object{body: body, md5: sum[:], sha256: hex.EncodeToString(sha[:])}
	key := s.newKey()
	collisions, failures := 0, 0
	retried := false // key was tried before without an answer
	for {
		err := s.put(ctx, key, obj)
		if err == nil {
			return nil
		}
		if errors.Is(err, errExists) {
			if retried {
				// An earlier try may have stored it and lost the answer.
				if same, herr := s.sameObject(ctx, key, obj.md5); herr == nil && same {
					return nil
				}
			}
			if collisions++; collisions >= maxCollisions {
				return fmt.Errorf("s3: PUT %s/%s: %d keys in a row already taken: %w", s.loc.Bucket, key, collisions, err)
			}
			key, retried = s.newKey(), false
			continue
		}
		if errors.Is(err, ErrPermanent) || ctx.Err() != nil {
			return err
		}
		if failures++; failures >= s.attempts {
			return fmt.Errorf("%w (gave up after %d tries)", err, failures)
		}
		retried = true
		wait := s.backoffFor(failures)
		s.log.Warn("s3 put failed, retrying", "attempt", failures, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (not retried: %w)", err, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// backoffFor is the wait after the nth failure: Backoff·2^(n-1), capped
// at 30 s, with jitter in [d/2, d) so that many sidecars that lost one
// server do not retry in step.
func (s *Sink) backoffFor(n int) time.Duration {
	d := s.backoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return d/2 + rand.N(d/2+1)
}

func (s *Sink) compress(ndjson []byte) ([]byte, error) {
	s.buf.Reset()
	if s.gz == nil {
		s.gz = gzip.NewWriter(&s.buf)
	} else {
		s.gz.Reset(&s.buf)
	}
	if _, err := s.gz.Write(ndjson); err != nil {
		return nil, fmt.Errorf("s3: gzip: %w", err)
	}
	if err := s.gz.Close(); err != nil {
		return nil, fmt.Errorf("s3: gzip: %w", err)
	}
	return s.buf.Bytes(), nil
}

// newKey is PREFIX + YYYY/MM/DD/HH/YYYYMMDDTHHMMSS.NNNNNNNNNZ-RANDOM.ndjson.gz
// in UTC; the time is after the previous key's, even if the clock stepped
// back, so keys of one Sink sort in upload order.
func (s *Sink) newKey() string {
	t := s.now().UTC().Round(0)
	if !t.After(s.last) {
		t = s.last.Add(time.Nanosecond)
	}
	s.last = t
	var r [8]byte
	_, _ = crandRead(r[:]) // never fails (crypto/rand)
	return s.loc.Prefix + t.Format("2006/01/02/15/20060102T150405.000000000Z") + "-" + hex.EncodeToString(r[:]) + ".ndjson.gz"
}

var crandRead = crand.Read // tests force collisions

type object struct {
	body   []byte
	md5    []byte
	sha256 string // hex
}

// errExists is a 412 to If-None-Match: *.
var errExists = errors.New("key exists")

func (s *Sink) put(ctx context.Context, key string, obj object) error {
	h := http.Header{}
	h.Set("Content-Type", "application/gzip")
	h.Set("Content-Md5", base64.StdEncoding.EncodeToString(obj.md5))
	h.Set("If-None-Match", "*")
	resp, err := s.do(ctx, http.MethodPut, key, h, obj.body, obj.sha256)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	case resp.StatusCode == http.StatusPreconditionFailed:
		return fmt.Errorf("%w: %w", errExists, s.answerError(resp, key))
	}
	return s.answerError(resp, key)
}

// sameObject reports whether key holds an object with this MD5: its ETag,
// for single-part uploads without SSE-KMS.
func (s *Sink) sameObject(ctx context.Context, key string, sum []byte) (bool, error) {
	resp, err := s.do(ctx, http.MethodHead, key, nil, nil, emptySHA256)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, s.answerError(resp, key)
	}
	return strings.Trim(resp.Header.Get("ETag"), `"`) == hex.EncodeToString(sum), nil
}

// do sends one signed request for key ("" for the bucket) with the query
// in key after a '?'.
func (s *Sink) do(ctx context.Context, method, key string, h http.Header, body []byte, bodySHA string) (*http.Response, error) {
	key, query, _ := strings.Cut(key, "?")
	u := s.loc.objectURL(key)
	u.RawQuery = query
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("s3: %s %s/%s: %w", method, s.loc.Bucket, key, err)
	}
	req.URL = u // keep RawPath exactly as signed
	if body == nil {
		req.Body, req.GetBody, req.ContentLength = http.NoBody, nil, 0
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	sign(req, s.creds, s.loc.Region, "s3", bodySHA, time.Now())
	resp, err := s.client.Do(req)
	if err != nil {
		// *url.Error shows the URL: endpoint and key, never credentials.
		return nil, fmt.Errorf("s3: %s %s/%s: %w", method, s.loc.Bucket, key, err)
	}
	return resp, nil
}

// answerError reads S3's <Error><Code/><Message/></Error>; the body holds
// no secret (a SignatureDoesNotMatch shows the string to sign, which is
// not kept).
func (s *Sink) answerError(resp *http.Response, key string) error {
	e := &Error{Method: resp.Request.Method, Bucket: s.loc.Bucket, Key: key, Status: resp.StatusCode}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e.Code, e.Message = parseErrorBody(data)
	return e
}
