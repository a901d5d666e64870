package hook

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/podkit/podkit/internal/redact"
)

// Defaults, git-sync v4's.
const (
	DefaultWebhookMethod  = http.MethodPost
	DefaultWebhookStatus  = http.StatusOK
	DefaultWebhookTimeout = time.Second
	DefaultExecTimeout    = 30 * time.Second
	DefaultBackoff        = 3 * time.Second // --webhook-backoff, --exechook-backoff
)

// NoStatusCheck as Webhook.SuccessStatus makes the webhook fire-and-forget.
// git-sync v4 spells it 0 and still takes v3's -1; both work here.
const NoStatusCheck = -1

// OptionError is a configuration error; Flag names the git-sync flag.
type OptionError struct {
	Flag string
	Err  error
}

func (e *OptionError) Error() string { return "--" + e.Flag + ": " + e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

func optErr(flag, format string, args ...any) error {
	return &OptionError{Flag: flag, Err: fmt.Errorf(format, args...)}
}

// Validate checks w without I/O. Zero Method and Timeout are valid: they
// mean the defaults. Errors never show the URL's userinfo.
func (w *Webhook) Validate() error {
	if w.URL == "" {
		return optErr("webhook-url", "required")
	}
	u, err := url.Parse(w.URL)
	if err != nil {
		// url.Parse's message can quote part of the userinfo (a password
		// with a "/" in it reads as a bad port), so it is shown only when
		// there is no userinfo to leak.
		if ue, ok := err.(*url.Error); ok && !strings.Contains(w.URL, "@") {
			return optErr("webhook-url", "not a URL: %v", ue.Err)
		}
		return optErr("webhook-url", "not a URL (details withheld: it may hold credentials)")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return optErr("webhook-url", "scheme must be http or https (got %q)", u.Scheme)
	}
	if u.Host == "" {
		return optErr("webhook-url", "no host in %s", redact.URL(u))
	}
	if w.Method != "" && !isToken(w.Method) {
		return optErr("webhook-method", "%q is not an HTTP method token", w.Method)
	}
	if s := w.SuccessStatus; s != 0 && s != NoStatusCheck && (s < 100 || s > 599) {
		return optErr("webhook-success-status", "must be an HTTP status (100-599), or 0 or -1 for no check (got %d)", s)
	}
	if w.Timeout < 0 {
		return optErr("webhook-timeout", "must be > 0 (got %s)", w.Timeout)
	}
	return nil
}

// Validate checks e without I/O: the command is looked up when it runs, as
// git-sync does, so it may live in a volume mounted later.
func (e *Exec) Validate() error {
	if e.Command == "" {
		return optErr("exechook-command", "required")
	}
	if e.Timeout < 0 {
		return optErr("exechook-timeout", "must be > 0 (got %s)", e.Timeout)
	}
	for _, kv := range e.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return optErr("exechook-command", "environment entry %q is not KEY=VALUE", kv)
		}
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token, the syntax of a method.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}
