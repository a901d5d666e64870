package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// probeBodyLimit bounds how much of a probed body is read: enough to drain
// small answers for connection reuse, never a large download.
const probeBodyLimit = 64 << 10

// ErrBadTarget marks a target that cannot be probed at all (a usage error).
var ErrBadTarget = errors.New("bad probe target")

// Probe checks a target once, with Kubernetes probe semantics: an HTTP(S)
// status from 200 to 399 is healthy, redirects are not followed, HTTPS
// certificates are not verified (as the kubelet does); tcp:// is healthy
// when a connection opens. The error never contains URL credentials.
func Probe(ctx context.Context, target string, timeout time.Duration) error {
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadTarget, redactParseError(err))
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch u.Scheme {
	case "http", "https":
		return probeHTTP(ctx, u)
	case "tcp":
		if u.Host == "" || u.Port() == "" {
			return fmt.Errorf("%w: %s: want tcp://host:port", ErrBadTarget, u.Redacted())
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return err
		}
		return c.Close()
	default:
		return fmt.Errorf("%w: %s: scheme must be http, https or tcp", ErrBadTarget, u.Redacted())
	}
}

func probeHTTP(ctx context.Context, u *url.URL) error {
	if u.Host == "" {
		return fmt.Errorf("%w: %s: no host", ErrBadTarget, u.Redacted())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadTarget, u.Redacted(), err)
	}
	req.Header.Set("User-Agent", "podkit-probe")
	client := &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // kubelet probe semantics
			DisableKeepAlives: true,
			Proxy:             nil, // probes target the local pod, never a proxy
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return redactURLError(err, u)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, probeBodyLimit))
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("%s: HTTP %d", u.Redacted(), resp.StatusCode)
	}
	return nil
}

// redactURLError rebuilds a *url.Error with the redacted URL.
func redactURLError(err error, u *url.URL) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", u.Redacted(), ue.Err)
	}
	return err
}

// redactParseError drops the raw input from url.Parse errors, which would
// print credentials.
func redactParseError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
