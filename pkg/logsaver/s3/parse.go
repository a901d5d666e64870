package s3

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Location is where a Sink writes, parsed from its URL.
type Location struct {
	Bucket    string
	Prefix    string   // "" or ending in "/"
	Endpoint  *url.URL // scheme and host (and an optional base path)
	Region    string
	PathStyle bool // http://ENDPOINT/BUCKET/KEY rather than http://BUCKET.ENDPOINT/KEY
}

// ParseURL parses s3://BUCKET/PREFIX?OPTIONS. The prefix is used as given,
// with a "/" appended when it lacks one (s3://logs/app -> keys app/2026/...).
// Options:
//
//	endpoint=URL      http(s)://HOST[:PORT] of an S3-compatible server;
//	                  default https://s3.REGION.amazonaws.com
//	region=REGION     the signing region; default us-east-1
//	path-style=0|1    bucket in the path rather than the host name; default
//	                  1 when the endpoint host is an IP address or localhost
//
// Credentials never go in the URL: it has no user info, and Name() shows
// it without the options.
func ParseURL(raw string) (Location, error) {
	var loc Location
	u, err := url.Parse(raw)
	if err != nil {
		return loc, fmt.Errorf("s3: URL: %v", err)
	}
	if u.Scheme != "s3" {
		return loc, fmt.Errorf("s3: URL: scheme must be s3 (got %q)", u.Scheme)
	}
	if u.User != nil {
		return loc, fmt.Errorf("s3: URL: credentials do not go in the URL: use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the shared credentials file")
	}
	if u.Opaque != "" || u.Fragment != "" {
		return loc, fmt.Errorf("s3: URL: want s3://BUCKET/PREFIX (got %s)", u.Redacted())
	}
	loc.Bucket = u.Host
	if !validBucket(loc.Bucket) {
		return loc, fmt.Errorf("s3: URL: bucket %q: want 3-63 characters of a-z, 0-9, '.', '-'", loc.Bucket)
	}
	loc.Prefix = strings.TrimPrefix(u.Path, "/")
	if loc.Prefix != "" && !strings.HasSuffix(loc.Prefix, "/") {
		loc.Prefix += "/"
	}
	if len(loc.Prefix) > 512 {
		return loc, fmt.Errorf("s3: URL: prefix longer than 512 bytes")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return loc, fmt.Errorf("s3: URL: query: %v", err)
	}
	loc.Region = "us-east-1"
	pathStyle := ""
	for name, vs := range q {
		if len(vs) != 1 {
			return loc, fmt.Errorf("s3: URL: %s: given %d times", name, len(vs))
		}
		v := vs[0]
		switch name {
		case "endpoint":
			e, err := url.Parse(v)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || e.RawQuery != "" || e.Fragment != "" {
				return loc, fmt.Errorf("s3: URL: endpoint: want http(s)://HOST[:PORT] (got %q)", redactedURL(v))
			}
			if e.User != nil {
				return loc, fmt.Errorf("s3: URL: endpoint: credentials do not go in the URL")
			}
			e.Path = strings.TrimSuffix(e.Path, "/")
			e.RawPath = ""
			loc.Endpoint = e
		case "region":
			if v == "" || strings.ContainsAny(v, "/ \t\r\n") {
				return loc, fmt.Errorf("s3: URL: region: invalid %q", v)
			}
			loc.Region = v
		case "path-style":
			if v != "0" && v != "1" && v != "true" && v != "false" {
				return loc, fmt.Errorf("s3: URL: path-style: want 0 or 1 (got %q)", v)
			}
			pathStyle = v
		default:
			return loc, fmt.Errorf("s3: URL: unknown option %q (want endpoint, region, path-style)", name)
		}
	}
	if loc.Endpoint == nil {
		loc.Endpoint = &url.URL{Scheme: "https", Host: "s3." + loc.Region + ".amazonaws.com"}
	}
	switch pathStyle {
	case "1", "true":
		loc.PathStyle = true
	case "":
		h := loc.Endpoint.Hostname()
		loc.PathStyle = net.ParseIP(h) != nil || h == "localhost"
	}
	if !loc.PathStyle && strings.Contains(loc.Bucket, ".") && loc.Endpoint.Scheme == "https" {
		// A dotted bucket name as a host name does not match the
		// endpoint's wildcard certificate.
		loc.PathStyle = true
	}
	return loc, nil
}

// redactedURL shows a malformed endpoint without a password it may hold.
func redactedURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		return "…" + s[i:]
	}
	return s
}

// validBucket follows S3's bucket naming rules, loosely: S3-compatible
// servers accept a little more (upper case, underscores), which is allowed.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', 'A' <= c && c <= 'Z':
		default:
			return false
		}
	}
	return b[0] != '.' && b[0] != '-' && b[len(b)-1] != '.' && b[len(b)-1] != '-'
}

// host is the Host of requests to loc.
func (loc Location) host() string {
	if loc.PathStyle {
		return loc.Endpoint.Host
	}
	return loc.Bucket + "." + loc.Endpoint.Host
}

// objectURL is the URL of key; the path is in Path (decoded) and RawPath
// (escaped as SigV4 signs it).
func (loc Location) objectURL(key string) *url.URL {
	p := loc.Endpoint.Path + "/"
	if loc.PathStyle {
		p += loc.Bucket
		if key != "" {
			p += "/"
		}
	}
	p += key
	return &url.URL{Scheme: loc.Endpoint.Scheme, Host: loc.host(), Path: p, RawPath: escape(p, false)}
}
