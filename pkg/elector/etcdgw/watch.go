package etcdgw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// EventType is what happened to a key.
type EventType int

const (
	EventPut    EventType = iota // created or changed
	EventDelete                  // deleted (or its lease ended)
)

func (t EventType) String() string {
	if t == EventDelete {
		return "DELETE"
	}
	return "PUT"
}

// Event is one change. A DELETE's KV has the key and the deletion's
// ModRevision; PrevKV is set only with WatchOptions.PrevKV.
type Event struct {
	Type   EventType
	KV     KV
	PrevKV *KV
}

// WatchResponse is a batch of events of one revision or more.
type WatchResponse struct {
	Revision int64 // store revision when etcd sent the batch
	Events   []Event
}

// WatchOptions select what a watch sees.
type WatchOptions struct {
	Prefix        bool  // every key starting with the key
	StartRevision int64 // first revision to report (0: changes from now on)
	PrevKV        bool  // events carry the previous value
}

// Watcher is one watch stream. Next is not safe for concurrent use; Close
// may be called from any goroutine.
type Watcher struct {
	body   io.ReadCloser
	dec    *json.Decoder
	lim    *msgLimiter
	ctx    context.Context
	cancel context.CancelFunc
	ep     string

	closeOnce sync.Once
	err       error // sticky, after the stream ended
}

// Watch starts watching key (or, with Prefix, every key under it) and
// returns once etcd has created the watch. It fails over between
// endpoints like every call; a stream that ends later is not resumed:
// Next returns the error, and the caller watches again from the revision
// after the last one it saw. ctx bounds the whole stream.
func (c *Client) Watch(ctx context.Context, key string, opts WatchOptions) (*Watcher, error) {
	if opts.StartRevision < 0 {
		return nil, fmt.Errorf("etcdgw: watch: StartRevision must be >= 0 (got %d)", opts.StartRevision)
	}
	req := watchRequest{CreateRequest: watchCreate{Key: []byte(key), StartRevision: opts.StartRevision, PrevKV: opts.PrevKV}}
	if opts.Prefix {
		req.CreateRequest.Key, req.CreateRequest.RangeEnd = prefixRange(key)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("etcdgw: watch: %w", err)
	}
	for retried := false; ; retried = true {
		tok, err := c.authToken(ctx)
		if err != nil {
			return nil, err
		}
		w, err := c.openWatch(ctx, body, tok)
		var e *Error
		if errors.As(err, &e) && tok != "" && !retried && e.authExpired() {
			c.forgetToken(tok)
			continue
		}
		return w, err
	}
}

// openWatch opens the stream, failing over between endpoints, and reads
// the "created" message.
func (c *Client) openWatch(ctx context.Context, body []byte, token string) (*Watcher, error) {
	const path = "/v3/watch"
	var last error
	for range c.attempts() {
		i := c.cur.Load()
		ep := c.endpoints[int(i)%len(c.endpoints)]
		w, err := c.openWatchOnce(ctx, ep, body, token)
		var e *Error
		switch {
		case err == nil:
			return w, nil
		case ctx.Err() != nil:
			return nil, fmt.Errorf("etcdgw: POST %s%s: %w", ep, path, context.Cause(ctx))
		case errors.As(err, &e) && e.Code != CodeUnavailable, errors.Is(err, ErrCompacted), errors.Is(err, errTooLarge):
			return nil, err
		}
		last = err
		c.failover(i)
	}
	return nil, fmt.Errorf("etcdgw: %s: every endpoint failed, last: %w", path, last)
}

func (c *Client) openWatchOnce(ctx context.Context, ep string, body []byte, token string) (*Watcher, error) {
	wctx, cancel := context.WithCancel(ctx)
	// The request timeout bounds the attempt until the watch is created;
	// after that the stream lives as long as ctx (or Close).
	timer := time.AfterFunc(c.timeout, cancel)
	w, err := c.startWatch(wctx, ep, body, token)
	if !timer.Stop() && err == nil {
		w.Close()
		err = fmt.Errorf("etcdgw: POST %s/v3/watch: not created within %s", ep, c.timeout)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	w.cancel = cancel
	return w, nil
}

func (c *Client) startWatch(ctx context.Context, ep string, body []byte, token string) (*Watcher, error) {
	resp, err := c.do(ctx, ep+"/v3/watch", body, token)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		raw, err := readBounded(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("POST %s/v3/watch: read: %w", ep, err)
		}
		e := parseError(resp.StatusCode, raw)
		e.Endpoint, e.Path = ep, "/v3/watch"
		return nil, e
	}
	lim := &msgLimiter{r: resp.Body}
	w := &Watcher{body: resp.Body, dec: json.NewDecoder(lim), lim: lim, ctx: ctx, cancel: func() {}, ep: ep}
	r, err := w.read()
	if err == nil && !r.Created {
		err = fmt.Errorf("etcdgw: POST %s/v3/watch: first message is no \"created\"", ep)
	}
	if err == nil && len(r.Events) > 0 {
		err = fmt.Errorf("etcdgw: POST %s/v3/watch: events in the \"created\" message", ep)
	}
	if err == nil && r.Canceled {
		err = w.canceled(r)
	}
	if err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// Next blocks until the next batch of events, and returns an error once
// the stream ended: a *CompactedError (ErrCompacted) when the start
// revision was compacted, ErrWatchEnded when etcd canceled the watch or
// the connection ended, ctx's error after ctx ended or Close.
func (w *Watcher) Next() (WatchResponse, error) {
	if w.err != nil {
		return WatchResponse{}, w.err
	}
	for {
		r, err := w.read()
		if err == nil && r.Canceled {
			err = w.canceled(r)
		}
		if err != nil {
			if w.ctx.Err() != nil {
				err = fmt.Errorf("etcdgw: watch: %w", context.Cause(w.ctx))
			}
			w.err = err
			w.Close()
			return WatchResponse{}, err
		}
		if len(r.Events) > 0 {
			return r.response(), nil
		}
		// Progress notifications and the like: nothing to report.
	}
}

// Close ends the stream; Next then returns an error.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() {
		w.cancel()
		w.body.Close()
	})
	return nil
}

func (w *Watcher) read() (watchResult, error) {
	w.lim.n = 0
	var raw json.RawMessage
	if err := w.dec.Decode(&raw); err != nil {
		if errors.Is(err, errTooLarge) {
			return watchResult{}, fmt.Errorf("etcdgw: watch %s: %w", w.ep, err)
		}
		return watchResult{}, fmt.Errorf("%w: %s: %w", ErrWatchEnded, w.ep, err)
	}
	r, err := decodeWatch(raw)
	var e *Error
	if errors.As(err, &e) {
		e.Endpoint, e.Path = w.ep, "/v3/watch"
		return watchResult{}, e
	}
	if err != nil {
		return watchResult{}, fmt.Errorf("etcdgw: watch %s: %w", w.ep, err)
	}
	return r, nil
}

// canceled turns a canceled watch into its error. An auth failure becomes
// an *Error, so that Watch re-authenticates.
func (w *Watcher) canceled(r watchResult) error {
	switch {
	case r.CompactRevision > 0:
		return &CompactedError{CompactRevision: int64(r.CompactRevision)}
	case authExpiredMessage(r.CancelReason):
		return &Error{Endpoint: w.ep, Path: "/v3/watch", Code: CodeUnauthenticated, Message: r.CancelReason}
	case r.CancelReason != "":
		return fmt.Errorf("%w: %s: canceled: %s", ErrWatchEnded, w.ep, r.CancelReason)
	}
	return fmt.Errorf("%w: %s: canceled", ErrWatchEnded, w.ep)
}

// msgLimiter fails a read once more than MaxMessageBytes were read since
// n was reset (at each message; the decoder's read-ahead counts towards
// the next one, so memory stays bounded all the same).
type msgLimiter struct {
	r io.Reader
	n int
}

func (l *msgLimiter) Read(p []byte) (int, error) {
	if l.n >= MaxMessageBytes {
		return 0, errTooLarge
	}
	if rest := MaxMessageBytes - l.n; len(p) > rest {
		p = p[:rest]
	}
	n, err := l.r.Read(p)
	l.n += n
	return n, err
}

// prefixRange is the [key, end) range of every key starting with prefix,
// as etcd's clientv3.WithPrefix: the prefix with its last byte below 0xff
// incremented; "" (or all 0xff) means every key: ["\x00", "\x00").
func prefixRange(prefix string) (key, end []byte) {
	end = []byte(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return []byte(prefix), end[:i+1]
		}
	}
	if prefix == "" {
		return []byte{0}, []byte{0}
	}
	return []byte(prefix), []byte{0}
}
