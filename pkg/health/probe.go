package health

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
)

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
		p, err := newHTTPProber(u, "")
		if err != nil {
			return err
		}
		return p.probe(ctx)
	case "tcp":
		if u.Host == "" || u.Port() == "" {
			return fmt.Errorf("%w: %s: want tcp://host:port", ErrBadTarget, u.Redacted())
		}
		return probeTCP(ctx, u.Host)
	default:
		return fmt.Errorf("%w: %s: scheme must be http, https or tcp", ErrBadTarget, u.Redacted())
	}
}

// redactURLError rebuilds a *url.Error with the redacted URL.
func redactURLError(err error, shown string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", shown, ue.Err)
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
