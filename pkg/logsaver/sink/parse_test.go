package sink

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/record"
)

var parseTests = []struct {
	url  string
	name string // want Name(); "" if Parse must fail
	err  string // substring of the error
}{
	{url: "stdout", name: "stdout"},
	{url: "stdout:", name: "stdout"},
	{url: "stdout://", name: "stdout"},
	{url: "stdout:?gzip=1", err: `unknown option "gzip" (this sink takes none)`},
	{url: "stdout://host/x", err: "stdout takes no host"},
	{url: "file:///var/log/out", name: "file:///var/log/out"},
	{url: "file:///var/log/../out/", name: "file:///var/out"},
	{url: "file://localhost/var/log/out", name: "file:///var/log/out"},
	{url: "file:///var/log/out?max-bytes=100MiB&max-age=1h&gzip=1&gzip-level=6&prefix=app-1", name: "file:///var/log/out"},
	{url: "file:///var/log/out?gzip", name: "file:///var/log/out"},
	{url: "file:///var/log/out?max-bytes=lots", err: `option max-bytes="lots": want a size`},
	{url: "file:///var/log/out?max-bytes=0", err: "must be > 0"},
	{url: "file:///var/log/out?max-age=-1s", err: "max-age"},
	{url: "file:///var/log/out?gzip=maybe", err: "option gzip"},
	{url: "file:///var/log/out?gzip-level=10", err: "gzip-level"},
	{url: "file:///var/log/out?prefix=../evil", err: "prefix"},
	{url: "file:///var/log/out?prefix=a/b", err: "prefix"},
	{url: "file:///var/log/out?prefix=.hidden", err: "prefix"},
	{url: "file:///var/log/out?bogus=1", err: `unknown option "bogus" (known: gzip, gzip-level, max-age, max-bytes, prefix)`},
	{url: "file:///var/log/out?gzip=1&gzip=0", err: `option "gzip" given 2 times`},
	{url: "file://host/var/log/out", err: "want file:///ABSOLUTE/DIR"},
	{url: "file:relative/dir", err: "want file:///ABSOLUTE/DIR"},
	{url: "file:", err: "dir: must be an absolute path"},
	{url: "http://collector:8080/ingest", name: "http://collector:8080/ingest"},
	{url: "https://host/path?gzip=1&timeout=10s&max-batch-bytes=1MiB&max-attempts=5&backoff-base=100ms&backoff-max=1m", name: "https://host/path"},
	{url: "https://alice:s3cret@host/path", name: "https://host/path"},
	{url: "https://alice:s3cret@host/path?nope=s3cret", err: `unknown option "nope"`},
	{url: "https://host/path?timeout=soon", err: "option timeout"},
	{url: "https://host/path?timeout=0s", err: "must be > 0"},
	{url: "https://host/path?backoff-base=2m&backoff-max=1m", err: "backoff-base"},
	{url: "https:///path", err: "want http(s)://HOST/PATH"},
	{url: "https:opaque", err: "want http(s)://HOST/PATH"},
	{url: "ftp://host/x", err: `unknown scheme "ftp" (known: file, http, https, stdout)`},
	{url: "/var/log/out", err: "no scheme"},
	{url: "", err: "no scheme"},
	{url: "http://alice:s3cret@host:bad/", err: "invalid port"},
	{url: "https://host/path?%zz", err: "query"},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.url, func(t *testing.T) {
			s, err := Parse(tt.url, Options{})
			if tt.name == "" {
				if err == nil {
					s.Close()
					t.Fatalf("Parse: no error, want %q", tt.err)
				}
				if !strings.Contains(err.Error(), tt.err) {
					t.Errorf("Parse error %q, want it to contain %q", err, tt.err)
				}
				if !errors.Is(err, ErrUsage) {
					t.Errorf("Parse error %q is not ErrUsage", err)
				}
				if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "alice") {
					t.Errorf("Parse error %q shows credentials", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			defer s.Close()
			if s.Name() != tt.name {
				t.Errorf("Name = %q, want %q", s.Name(), tt.name)
			}
			if _, ok := s.(StatsSource); !ok {
				t.Errorf("%T is not a StatsSource", s)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	s, err := Parse("file:///out?max-bytes=1KiB&max-age=90s&gzip=true&gzip-level=6&prefix=app", Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := s.(*File).cfg
	want := FileConfig{Dir: "/out", Prefix: "app", MaxBytes: 1024, MaxAge: 90 * time.Second, Gzip: true, GzipLevel: 6}
	if got != want {
		t.Errorf("file config %+v, want %+v", got, want)
	}
	s, err = Parse("https://u:p@h/x?gzip=1&timeout=10s&max-batch-bytes=1MB&max-attempts=5&backoff-base=100ms&backoff-max=1m", Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := s.(*HTTP)
	hc := h.cfg
	hc.URL = nil
	wantH := HTTPConfig{Gzip: true, GzipLevel: 1, Timeout: 10 * time.Second, MaxBatchBytes: 1e6, MaxAttempts: 5, BackoffBase: 100 * time.Millisecond, BackoffMax: time.Minute}
	if hc != wantH {
		t.Errorf("http config %+v, want %+v", hc, wantH)
	}
	if h.target != "https://h/x" {
		t.Errorf("target %q, want https://h/x", h.target)
	}
}

// fakeSink stands in for an s3 sink registered through Options.Schemes.
type fakeSink struct{ name, region string }

func (f *fakeSink) Name() string                              { return f.name }
func (f *fakeSink) Send(context.Context, *record.Batch) error { return nil }
func (f *fakeSink) Close() error                              { return nil }

func TestParseSchemes(t *testing.T) {
	opts := Options{Schemes: map[string]Factory{
		"s3": func(u *url.URL, p *Params, _ Options) (record.Sink, error) {
			return &fakeSink{name: Redact(u), region: p.String("region", "us-east-1")}, nil
		},
	}}
	s, err := Parse("s3://bucket/prefix?region=eu-west-1", opts)
	if err != nil {
		t.Fatal(err)
	}
	if f := s.(*fakeSink); f.name != "s3://bucket/prefix" || f.region != "eu-west-1" {
		t.Errorf("got %+v", f)
	}
	_, err = Parse("s3://bucket/prefix?regio=eu-west-1", opts)
	if err == nil || !strings.Contains(err.Error(), `unknown option "regio" (known: region)`) || !errors.Is(err, ErrUsage) {
		t.Errorf("unknown option: err = %v", err)
	}
	_, err = Parse("syslog+tcp://host:514", opts)
	if err == nil || !strings.Contains(err.Error(), "(known: file, http, https, s3, stdout)") {
		t.Errorf("unknown scheme: err = %v", err)
	}
}

func TestParseBytes(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64 // -1: error
	}{
		{"0", 0}, {"1048576", 1 << 20}, {"512KiB", 512 << 10}, {"100MiB", 100 << 20},
		{"100mib", 100 << 20}, {"1GiB", 1 << 30}, {"2TiB", 2 << 40}, {"1GB", 1e9}, {"1kB", 1000},
		{"10M", 10 << 20}, {"5B", 5}, {" 7 KiB ", 7 << 10},
		{"", -1}, {"MiB", -1}, {"-1", -1}, {"+1", -1}, {"1.5MiB", -1}, {"1PiB", -1},
		{"9223372036854775807", 1<<63 - 1}, {"9223372036854775807KiB", -1}, {"8589934592GiB", -1},
	} {
		got, err := ParseBytes(tt.in)
		if tt.want < 0 {
			if err == nil {
				t.Errorf("ParseBytes(%q) = %d, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

// FuzzParse checks that Parse never panics, never shows a password and
// never builds a sink for an unknown option.
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.url)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s, err := Parse(raw, Options{})
		u, uerr := url.Parse(raw)
		var pw string
		if uerr == nil && u.User != nil {
			pw, _ = u.User.Password()
			if len(pw) < 4 || strings.Contains(strings.Replace(raw, u.User.String()+"@", "", 1), pw) {
				pw = "" // too short to tell, or also in the rest of the URL
			}
		}
		if err != nil {
			if !errors.Is(err, ErrUsage) {
				t.Errorf("Parse(%q) error %q is not ErrUsage", raw, err)
			}
			if pw != "" && strings.Contains(err.Error(), pw) {
				t.Errorf("Parse(%q) error %q shows the password", raw, err)
			}
			return
		}
		defer s.Close()
		if pw != "" && strings.Contains(s.Name(), pw) {
			t.Errorf("Parse(%q).Name() = %q shows the password", raw, s.Name())
		}
		if strings.Contains(s.Name(), "?") && uerr == nil && u.RawQuery != "" {
			t.Errorf("Parse(%q).Name() = %q shows the query", raw, s.Name())
		}
	})
}

func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"0", "100MiB", "1GB", "-1", "9223372036854775807KiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseBytes(s)
		if err == nil && n < 0 {
			t.Errorf("ParseBytes(%q) = %d", s, n)
		}
	})
}
