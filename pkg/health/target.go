package health

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// probeBodyLimit bounds how much of a probed body is read: enough to drain
// small answers and to match --check-expect-body, never a large download.
const probeBodyLimit = 64 << 10

// A prober checks one target once. probe must return once ctx ends; close
// releases what the prober keeps between probes (idle connections).
type prober struct {
	probe func(ctx context.Context) error
	close func()
}

// newProber parses a target and builds its prober; errors wrap ErrBadTarget
// and never contain URL credentials.
func newProber(target, expectBody string) (prober, error) {
	if rest, ok := strings.CutPrefix(target, "exec:"); ok {
		if expectBody != "" {
			return prober{}, fmt.Errorf("%w: expect-body applies to HTTP targets only", ErrBadTarget)
		}
		return newExecProber(rest)
	}
	if !strings.Contains(target, "://") {
		return prober{}, fmt.Errorf("%w: want http://, https://, tcp://, grpc:// or exec:COMMAND", ErrBadTarget)
	}
	u, err := url.Parse(target)
	if err != nil {
		return prober{}, fmt.Errorf("%w: %v", ErrBadTarget, redactParseError(err))
	}
	if expectBody != "" && u.Scheme != "http" && u.Scheme != "https" {
		return prober{}, fmt.Errorf("%w: %s: expect-body applies to HTTP targets only", ErrBadTarget, origin(u))
	}
	switch u.Scheme {
	case "http", "https":
		p, err := newHTTPProber(u, expectBody)
		if err != nil {
			return prober{}, err
		}
		return prober{probe: p.probe}, nil
	case "tcp":
		if err := checkHostPort(u, "tcp://host:port"); err != nil {
			return prober{}, err
		}
		return prober{probe: func(ctx context.Context) error { return probeTCP(ctx, u.Host) }}, nil
	case "grpc":
		return newGRPCProber(u)
	default:
		return prober{}, fmt.Errorf("%w: scheme %q: want http, https, tcp, grpc or exec:", ErrBadTarget, truncate(u.Scheme, 20))
	}
}

func checkHostPort(u *url.URL, want string) error {
	if u.Hostname() == "" || u.Port() == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: %s: want %s", ErrBadTarget, origin(u), want)
	}
	return nil
}

// origin is what errors about a target quote: scheme and host only. A path,
// query or fragment may hold a token, and url.Parse is lenient enough to put
// a mistyped password there.
func origin(u *url.URL) string {
	return u.Scheme + "://" + u.Host
}

func probeTCP(ctx context.Context, hostport string) error {
	d := net.Dialer{KeepAlive: -1} // closed at once
	c, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return err
	}
	return c.Close()
}

// redactTarget is a target as /checks shows it: URL passwords replaced by
// "xxxxx", in exec arguments too.
func redactTarget(target string) string {
	if rest, ok := strings.CutPrefix(target, "exec:"); ok {
		args := strings.Fields(rest)
		for i, a := range args {
			args[i] = redactArg(a)
		}
		return "exec:" + strings.Join(args, " ")
	}
	u, err := url.Parse(target)
	if err != nil {
		return "(unparseable target)"
	}
	return u.Redacted()
}

func redactArg(a string) string {
	if !strings.Contains(a, "://") || !strings.Contains(a, "@") {
		return a
	}
	// --dsn=postgres://u:p@h/db: redact the URL after a flag's "=".
	prefix, rawURL := "", a
	if i := strings.Index(a, "="); i >= 0 && i < strings.Index(a, "://") {
		prefix, rawURL = a[:i+1], a[i+1:]
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return prefix + "(unparseable URL)"
	}
	return prefix + u.Redacted()
}
