package health

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// httpProber is the kubelet's HTTP probe: GET over HTTP/1.1 on a fresh
// connection (the kubelet disables keep-alives, so a server that stops
// accepting is noticed), 200-399 healthy, redirects not followed, TLS not
// verified, no proxy.
//
// It writes the request and reads the answer on the check's own goroutine
// instead of going through http.Client: with fifty checks probing in the
// same instant, the client's per-connection goroutines and 4 KiB buffers
// were most of podkit's memory and much of its CPU
// (internal/bench/healthcpu). Parsing is still net/http's ReadResponse.
type httpProber struct {
	addr   string // host:port to dial
	shown  string // u.Redacted(), for errors
	req    []byte // the request, built once
	tls    *tls.Config
	expect *regexp.Regexp
	// lr, br and buf are reused: a check's probes never overlap.
	lr  io.LimitedReader
	br  *bufio.Reader
	buf [512]byte
}

const (
	httpReadBuffer = 2 << 10 // header lines longer than this still parse, in pieces
	// httpReadLimit bounds everything read from one answer, headers
	// included (http.ReadResponse has no limit of its own).
	httpReadLimit = 64<<10 + probeBodyLimit
)

func newHTTPProber(u *url.URL, expectBody string) (*httpProber, error) {
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: %s: no host", ErrBadTarget, origin(u))
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	p := &httpProber{
		addr:  net.JoinHostPort(u.Hostname(), port),
		shown: u.Redacted(),
		br:    bufio.NewReaderSize(nil, httpReadBuffer),
	}
	if u.Scheme == "https" {
		p.tls = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // kubelet probe semantics
		if net.ParseIP(u.Hostname()) == nil {
			p.tls.ServerName = u.Hostname() // SNI, for servers with several certificates
		}
	}
	if strings.ContainsAny(u.RequestURI()+u.Host, " \r\n") {
		return nil, fmt.Errorf("%w: %s: invalid characters", ErrBadTarget, origin(u))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\n", u.RequestURI(), u.Host)
	b.WriteString("User-Agent: podkit-probe\r\nAccept: */*\r\nConnection: close\r\n")
	if u.User != nil {
		// As net/http does for credentials in the URL.
		pw, _ := u.User.Password()
		b.WriteString("Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw)) + "\r\n")
	}
	b.WriteString("\r\n")
	p.req = []byte(b.String())
	if expectBody != "" {
		re, err := regexp.Compile(expectBody)
		if err != nil {
			return nil, fmt.Errorf("%w: expect-body: %v", ErrBadTarget, err)
		}
		p.expect = re
	}
	return p, nil
}

func (p *httpProber) probe(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				err = ctxErr // "i/o timeout" from the deadline means the probe's timeout
			}
			err = fmt.Errorf("%s: %w", p.shown, err)
		}
	}()
	d := net.Dialer{KeepAlive: -1} // the connection lives one request
	conn, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Shutdown (ctx cancelled without a deadline) must unblock I/O as well.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if p.tls != nil {
		tc := tls.Client(conn, p.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return err
		}
		conn = tc
	}
	if _, err := conn.Write(p.req); err != nil {
		return err
	}
	p.lr = io.LimitedReader{R: conn, N: httpReadLimit}
	p.br.Reset(&p.lr)
	defer func() { p.br.Reset(nil); p.lr.R = nil }() // drop the connection
	resp, err := http.ReadResponse(p.br, nil)
	// Interim 1xx answers precede the real one (net/http skips them too).
	for i := 0; err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != 101 && i < 5; i++ {
		resp, err = http.ReadResponse(p.br, nil)
	}
	if err != nil {
		if p.lr.N <= 0 {
			return fmt.Errorf("answer headers over %d KiB", httpReadLimit>>10)
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if p.expect == nil {
		drain(resp.Body, p.buf[:])
		return nil
	}
	var body bytes.Buffer
	if _, err := body.ReadFrom(io.LimitReader(resp.Body, probeBodyLimit)); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("HTTP %d, reading the body: %w", resp.StatusCode, err)
	}
	if !p.expect.Match(body.Bytes()) {
		return fmt.Errorf("HTTP %d but body does not match %q", resp.StatusCode, truncate(p.expect.String(), 100))
	}
	return nil
}

// drain reads up to probeBodyLimit of r, so the server is not cut off
// mid-answer, and discards it.
func drain(r io.Reader, buf []byte) {
	for n := 0; n < probeBodyLimit; {
		m, err := r.Read(buf)
		n += m
		if err != nil {
			return
		}
	}
}
