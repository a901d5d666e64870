package s3

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// AWS Signature Version 4, header form, as S3 documents it
// ("Authenticating Requests: Using the Authorization Header"). Only what
// the sink sends is covered: no chunked (streaming) payloads, no presigned
// URLs.

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	amzDateFmt   = "20060102T150405Z"
	emptySHA256  = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// sign adds X-Amz-Date, X-Amz-Content-Sha256 (payloadHash: the hex SHA-256
// of the body), X-Amz-Security-Token if any, and Authorization to req. It
// signs Host and every header already in req.Header, so callers set the
// headers that must not be tampered with (Content-MD5, If-None-Match)
// first; the transport's own (User-Agent, Accept-Encoding) come later and
// stay unsigned.
func sign(req *http.Request, c Credentials, region, service, payloadHash string, t time.Time) {
	t = t.UTC()
	req.Header.Set("X-Amz-Date", t.Format(amzDateFmt))
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	if c.SessionToken != "" {
		req.Header.Set("X-Amz-Security-Token", c.SessionToken)
	}
	req.Header.Del("Authorization")
	creq, signed := canonicalRequest(req, payloadHash)
	scope := t.Format("20060102") + "/" + region + "/" + service + "/aws4_request"
	sts := stringToSign(t, scope, creq)
	sig := hex.EncodeToString(hmacSHA256(signingKey(c.SecretAccessKey, t, region, service), sts))
	req.Header.Set("Authorization", sigAlgorithm+" Credential="+c.AccessKeyID+"/"+scope+
		", SignedHeaders="+signed+", Signature="+sig)
}

// canonicalRequest is SigV4's canonical request of req and its signed
// header list.
func canonicalRequest(req *http.Request, payloadHash string) (creq, signed string) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	vals := map[string]string{"host": host}
	for name, vs := range req.Header {
		ln := strings.ToLower(name)
		if ln == "authorization" {
			continue
		}
		trimmed := make([]string, len(vs))
		for i, v := range vs {
			trimmed[i] = strings.Join(strings.Fields(v), " ") // trim, collapse spaces
		}
		vals[ln] = strings.Join(trimmed, ",")
	}
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(req.Method)
	b.WriteByte('\n')
	b.WriteString(escape(req.URL.Path, false))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(req.URL.RawQuery))
	b.WriteByte('\n')
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(vals[n])
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	signed = strings.Join(names, ";")
	b.WriteString(signed)
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String(), signed
}

// canonicalQuery sorts the parameters by name, then value, each escaped.
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	q, _ := url.ParseQuery(raw)
	type kv struct{ k, v string }
	var all []kv
	for k, vs := range q {
		for _, v := range vs {
			all = append(all, kv{escape(k, true), escape(v, true)})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].k != all[j].k {
			return all[i].k < all[j].k
		}
		return all[i].v < all[j].v
	})
	parts := make([]string, len(all))
	for i, p := range all {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

func stringToSign(t time.Time, scope, creq string) string {
	h := sha256.Sum256([]byte(creq))
	return sigAlgorithm + "\n" + t.UTC().Format(amzDateFmt) + "\n" + scope + "\n" + hex.EncodeToString(h[:])
}

func signingKey(secret string, t time.Time, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), t.UTC().Format("20060102"))
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// escape is SigV4's UriEncode: every byte but A-Z a-z 0-9 - _ . ~ as %XX
// (upper-case hex), and '/' too when slash is set (query strings). S3
// paths are encoded once, not twice as for other services.
func escape(s string, slash bool) string {
	const hexUpper = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !slash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUpper[c>>4])
		b.WriteByte(hexUpper[c&0xf])
	}
	return b.String()
}
