package hook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/podkit/podkit/internal/redact"
)

// Webhook is git-sync's --webhook-*: an HTTP request per new hash.
type Webhook struct {
	URL    string
	Method string // "": DefaultWebhookMethod
	// SuccessStatus is the response status that counts as success. 0 or
	// NoStatusCheck: no check, and a failed request counts as done too
	// (fire-and-forget). Callers taking git-sync flags pass the flag's
	// default, DefaultWebhookStatus.
	SuccessStatus int
	Timeout       time.Duration // whole request, body included; 0: DefaultWebhookTimeout
	Client        *http.Client  // nil: defaultClient
	Logger        *slog.Logger  // nil: slog.Default(); sees fire-and-forget failures
}

var _ Runner = (*Webhook)(nil)

// defaultClient ignores HTTP(S)_PROXY: webhook targets are usually the app
// in the same pod or cluster, and a proxy set for fetching the repository
// should not silently carry them. Keep-alives are off because a request is
// sent once per new hash; an idle connection would only hold a socket (and
// a goroutine) open on both sides. Redirects are followed, as git-sync's
// http.DefaultClient does.
var defaultClient = &http.Client{Transport: &http.Transport{
	Proxy:                  nil,
	DialContext:            (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	ForceAttemptHTTP2:      true,
	TLSHandshakeTimeout:    10 * time.Second,
	DisableKeepAlives:      true,
	MaxResponseHeaderBytes: 64 << 10,
}}

// maxDrain bounds how much of a response body is read before closing it.
const maxDrain = 64 << 10

// Name implements Runner.
func (w *Webhook) Name() string { return "webhook" }

// Run sends the request for hash; dir is unused. Errors never show the URL's
// userinfo.
func (w *Webhook) Run(ctx context.Context, hash, _ string) error {
	u, err := url.Parse(w.URL)
	if err != nil {
		return errors.New("webhook: invalid URL (see --webhook-url)")
	}
	method := cmp.Or(w.Method, DefaultWebhookMethod)
	where := method + " " + redact.URL(u)
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(w.Timeout, DefaultWebhookTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", where, err)
	}
	req.Header.Set("Gitsync-Hash", hash)
	err = w.send(req)
	if err != nil && w.fireAndForget() {
		w.logger().Info("webhook failed; not checked, not retried", "hash", hash, "url", redact.URL(u), "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("webhook %s: %w", where, err)
	}
	return nil
}

func (w *Webhook) send(req *http.Request) error {
	resp, err := cmp.Or(w.Client, defaultClient).Do(req)
	if err != nil {
		// The client's *url.Error quotes the URL, user and all (it hides
		// only the password); keep just the cause.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return err
	}
	// Drained so the server's write does not fail; bounded so a streaming
	// response cannot hold the hook.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	resp.Body.Close()
	if !w.fireAndForget() && resp.StatusCode != w.SuccessStatus {
		return fmt.Errorf("status %d, want %d", resp.StatusCode, w.SuccessStatus)
	}
	return nil
}

func (w *Webhook) fireAndForget() bool {
	return w.SuccessStatus == 0 || w.SuccessStatus == NoStatusCheck
}

func (w *Webhook) logger() *slog.Logger { return cmp.Or(w.Logger, slog.Default()) }
