package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/record"
)

// Options is what a sink URL cannot carry: secrets, shared clients and test
// hooks. The zero value is ready to use.
type Options struct {
	// Header is added to every HTTP request (e.g. Authorization read from a
	// --x-file flag). It is never logged nor shown in errors.
	Header http.Header
	// Client sends HTTP requests; nil: a client of its own per sink, with
	// the proxy from the environment. Its Timeout, if any, applies on top
	// of the timeout option.
	Client *http.Client
	// Stdout is where the stdout sink writes; nil: os.Stdout.
	Stdout io.Writer
	// Logger gets a Warn line per retried attempt; nil: slog.Default().
	Logger *slog.Logger

	// Schemes adds sinks by URL scheme (e.g. "s3", "syslog+tcp"); it is
	// consulted before the built-in schemes, so it can also replace them.
	Schemes map[string]Factory

	// Sleep waits d or until ctx is done (returning ctx's error); nil: a
	// timer. Tests set it to skip real waiting between retries.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now reads the clock for Retry-After dates; nil: time.Now.
	Now func() time.Time
	// Jitter returns a uniform random duration in [0, d]; nil: math/rand/v2.
	Jitter func(d time.Duration) time.Duration
}

// A Factory builds a sink for one parsed URL. It reads its options through
// p; Parse rejects any query option p was not asked for, so a Factory need
// not check for unknown ones. It must not do I/O nor start goroutines.
type Factory func(u *url.URL, p *Params, opts Options) (record.Sink, error)

// ErrUsage is wrapped by every error Parse returns for a malformed URL or
// option, so a caller can exit 2 on it.
var ErrUsage = errors.New("bad sink URL")

// Parse builds the sink named by rawURL:
//
//	file:///DIR?max-bytes=100MiB&max-age=1h&gzip=1&gzip-level=1&prefix=logsaver
//	http://HOST/PATH?gzip=1&timeout=30s&max-batch-bytes=4MiB&max-attempts=0&backoff-base=250ms&backoff-max=5s
//	https://USER:PASSWORD@HOST/PATH?... (credentials sent as basic auth, never shown)
//	stdout
//
// Unknown or repeated options are errors. Parse does no I/O: a file sink
// creates DIR on its first Send.
func Parse(rawURL string, opts Options) (record.Sink, error) {
	if rawURL == "stdout" {
		rawURL = "stdout:"
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the input, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("sink: %w: %w", ErrUsage, err)
	}
	shown := Redact(u)
	if u.Scheme == "" {
		return nil, fmt.Errorf("sink %s: %w: no scheme (want file:///DIR, http(s)://HOST/PATH, stdout or a registered scheme)", shown, ErrUsage)
	}
	scheme := strings.ToLower(u.Scheme)
	f, ok := opts.Schemes[scheme]
	if !ok {
		switch scheme {
		case "file":
			f = newFileFromURL
		case "http", "https":
			f = newHTTPFromURL
		case "stdout":
			f = newStdoutFromURL
		default:
			known := []string{"file", "http", "https", "stdout"}
			for s := range opts.Schemes {
				known = append(known, s)
			}
			slices.Sort(known)
			return nil, fmt.Errorf("sink %s: %w: unknown scheme %q (known: %s)", shown, ErrUsage, scheme, strings.Join(known, ", "))
		}
	}
	p, err := newParams(u)
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w: %w", shown, ErrUsage, err)
	}
	s, err := f(u, p, opts)
	if err == nil {
		if err = p.Err(); err != nil {
			_ = s.Close()
		}
	}
	if err != nil {
		if !errors.Is(err, ErrUsage) {
			err = fmt.Errorf("%w: %w", ErrUsage, err)
		}
		return nil, fmt.Errorf("sink %s: %w", shown, err)
	}
	return s, nil
}

// Redact is u as shown in names, logs and errors: scheme, host and path,
// without user, password, query or fragment.
func Redact(u *url.URL) string {
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, Opaque: u.Opaque}
	if c.Host == "" && c.Path == "" && c.Opaque == "" && c.Scheme != "" {
		return c.Scheme // "stdout", not "stdout:"
	}
	if c.Opaque != "" {
		// An opaque part may hold anything ("mailto:user:pass"); keep the
		// scheme only.
		c.Opaque = "..."
	}
	return c.String()
}

// Params reads a sink URL's query options, remembering which ones were
// asked for so Err can report the rest as unknown. The first malformed
// value is kept and reported by Err; readers then return the default.
type Params struct {
	q     url.Values
	asked []string
	err   error
}

func newParams(u *url.URL) (*Params, error) {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	for k, v := range q {
		if len(v) > 1 {
			return nil, fmt.Errorf("option %q given %d times", k, len(v))
		}
	}
	return &Params{q: q}, nil
}

func (p *Params) lookup(name string) (string, bool) {
	p.asked = append(p.asked, name)
	v, ok := p.q[name]
	if !ok {
		return "", false
	}
	return v[0], true
}

func (p *Params) fail(name, v string, err error) {
	if p.err == nil {
		p.err = fmt.Errorf("option %s=%q: %w", name, v, err)
	}
}

// String returns option name, or def when absent.
func (p *Params) String(name, def string) string {
	if v, ok := p.lookup(name); ok {
		return v
	}
	return def
}

// Bool returns option name ("1", "true", "0", "false"…; present without a
// value means true), or def when absent.
func (p *Params) Bool(name string, def bool) bool {
	v, ok := p.lookup(name)
	if !ok {
		return def
	}
	if v == "" {
		return true
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, v, errors.New("want 1, 0, true or false"))
		return def
	}
	return b
}

// Int returns option name, or def when absent; it must lie in [lo, hi].
func (p *Params) Int(name string, def, lo, hi int) int {
	v, ok := p.lookup(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail(name, v, fmt.Errorf("want an integer in [%d, %d]", lo, hi))
		return def
	}
	return n
}

// Duration returns option name as a Go duration ("1h30m"), or def when
// absent; it must not be negative.
func (p *Params) Duration(name string, def time.Duration) time.Duration {
	v, ok := p.lookup(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		p.fail(name, v, errors.New("want a duration >= 0 such as 500ms, 10s or 1h"))
		return def
	}
	return d
}

// Bytes returns option name as a size (ParseBytes), or def when absent.
func (p *Params) Bytes(name string, def int64) int64 {
	v, ok := p.lookup(name)
	if !ok {
		return def
	}
	n, err := ParseBytes(v)
	if err != nil {
		p.fail(name, v, err)
		return def
	}
	return n
}

// Err is the first malformed option, else an error naming the options
// given but never asked for, else nil.
func (p *Params) Err() error {
	if p.err != nil {
		return p.err
	}
	var unknown []string
	for k := range p.q {
		if !slices.Contains(p.asked, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	known := slices.Clone(p.asked)
	slices.Sort(known)
	known = slices.Compact(known)
	if len(known) == 0 {
		return fmt.Errorf("unknown option %q (this sink takes none)", unknown[0])
	}
	return fmt.Errorf("unknown option %q (known: %s)", unknown[0], strings.Join(known, ", "))
}

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	// Longest first, so "KiB" is not read as "B".
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// ParseBytes reads a non-negative size: an integer with an optional unit,
// case-insensitive: B; KiB, MiB, GiB, TiB (powers of 1024, also K, M, G,
// T); kB, MB, GB, TB (powers of 1000).
func ParseBytes(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	lower := strings.ToLower(num)
	for _, u := range byteUnits {
		if strings.HasSuffix(lower, u.suffix) {
			num, mult = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || num[0] == '+' {
		return 0, errors.New("want a size such as 1048576, 512KiB, 100MiB or 1GB")
	}
	if n > math.MaxInt64/mult {
		return 0, errors.New("size too large")
	}
	return n * mult, nil
}

func (o *Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

func (o *Options) sleep(ctx context.Context, d time.Duration) error {
	if o.Sleep != nil {
		return o.Sleep(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	if o.Jitter != nil {
		return o.Jitter(d)
	}
	return rand.N(d + 1)
}
