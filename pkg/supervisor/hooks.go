package supervisor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// A Hook is a lifecycle handler, as a Kubernetes container's postStart and
// preStop: a command (Argv) or an HTTP URL that receives a POST. The zero
// Hook is none.
type Hook struct {
	Argv []string // exec: the command and its arguments; no shell
	URL  *url.URL // http or https: POSTed to; 200-399 is success
}

// ParseHook reads "exec:COMMAND ARGS..." (split on spaces: there is no
// shell, as for health's exec checks) or an http:// or https:// URL. "" is no
// hook.
func ParseHook(s string) (Hook, error) {
	switch {
	case s == "":
		return Hook{}, nil
	case strings.HasPrefix(s, "exec:"):
		argv := strings.Fields(strings.TrimPrefix(s, "exec:"))
		if len(argv) == 0 {
			return Hook{}, errors.New("want exec:COMMAND ARGS...")
		}
		return Hook{Argv: argv}, nil
	case strings.HasPrefix(s, "http://"), strings.HasPrefix(s, "https://"):
		u, err := url.Parse(s)
		if err != nil {
			return Hook{}, errors.New("not a valid URL") // url's error quotes it, password and all
		}
		h := Hook{URL: u}
		return h, h.validate()
	default:
		return Hook{}, errors.New("want exec:COMMAND ARGS... or an http:// or https:// URL")
	}
}

// redactURL is u without what may be a secret: the password, as
// URL.Redacted does, and the query, where hook URLs tend to carry tokens.
func redactURL(u *url.URL) string {
	c := *u
	if c.RawQuery != "" {
		c.RawQuery = "xxxxx"
	}
	return c.Redacted()
}

// IsZero reports whether h is no hook.
func (h Hook) IsZero() bool { return len(h.Argv) == 0 && h.URL == nil }

// String is the hook as ParseHook reads it, with a URL's password and query
// redacted.
func (h Hook) String() string {
	switch {
	case h.URL != nil:
		return redactURL(h.URL)
	case len(h.Argv) > 0:
		return "exec:" + strings.Join(h.Argv, " ")
	}
	return ""
}

func (h Hook) validate() error {
	if len(h.Argv) > 0 && h.URL != nil {
		return errors.New("either a command or a URL, not both")
	}
	if h.URL != nil {
		if h.URL.Scheme != "http" && h.URL.Scheme != "https" {
			return errors.New("URL scheme must be http or https")
		}
		if h.URL.Host == "" {
			return errors.New("URL has no host")
		}
	}
	return nil
}

// hookNames are the label values of podkit_run_hook_*.
const (
	hookPostStart = "post-start"
	hookPreStop   = "pre-stop"
)

type hookResult struct {
	name string
	gen  int // the child generation the hook ran for
	err  error
}

// runHook runs h within the hook timeout; ctx's cancellation does not cut it
// short (a pre-stop hook runs because we are stopping). Failures are logged
// and counted, never returned up: a hook cannot hang or fail the stop.
func (s *Supervisor) runHook(ctx context.Context, name string, gen int, h Hook) hookResult {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.HookTimeout)
	defer cancel()
	start := time.Now()
	var err error
	if h.URL != nil {
		err = s.postHook(ctx, name, h.URL)
	} else {
		err = s.Exec(ctx, h.Argv)
	}
	took := time.Since(start)
	result := "ok"
	switch {
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		result = "timeout"
		err = fmt.Errorf("timed out after %s: %w", s.cfg.HookTimeout, err)
	case err != nil:
		result = "error"
	}
	s.m.hookRuns.WithLabelValues(name, result).Inc()
	s.m.hookDuration.WithLabelValues(name).Observe(took.Seconds())
	if err != nil {
		s.log.Warn("hook failed", "hook", name, "err", err, "took", took.Round(time.Millisecond).String())
	} else {
		s.log.Debug("hook done", "hook", name, "took", took.Round(time.Millisecond).String())
	}
	return hookResult{name: name, gen: gen, err: err}
}

// postHook POSTs to u; redirects are not followed (a 3xx is success, as
// for Kubernetes HTTP hooks and probes), no proxy is used and, as the kubelet
// does for hooks and probes, an HTTPS certificate is not verified: the
// target is the child, next door, typically with a self-signed certificate.
func (s *Supervisor) postHook(ctx context.Context, name string, u *url.URL) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), http.NoBody)
	if err != nil {
		return fmt.Errorf("POST %s: %w", redactURL(u), err)
	}
	req.Header.Set("X-Podkit-Hook", name)
	client := &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, password included
		}
		return fmt.Errorf("POST %s: %w", redactURL(u), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("POST %s: %s", redactURL(u), resp.Status)
	}
	return nil
}
