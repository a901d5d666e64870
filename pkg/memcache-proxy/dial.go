package memcacheproxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/podkit/podkit/pkg/memcache-proxy/twemconf"
)

// defaultDialTimeout bounds a connect when the pool has no timeout: the
// dial holds the connection's lock, and a black-holed SYN would otherwise
// hold it for the kernel's two minutes.
const defaultDialTimeout = 10 * time.Second

// dialer makes server connections: plain or TLS, with or without TCP
// keepalive. Every dial resolves the host name afresh.
type dialer struct {
	timeout   time.Duration
	keepalive bool
	tls       *tls.Config
}

func (d *dialer) dial(s twemconf.Server) (net.Conn, error) {
	timeout := d.timeout
	if timeout <= 0 {
		timeout = defaultDialTimeout
	}
	nd := net.Dialer{Timeout: timeout, KeepAlive: -1}
	if d.keepalive {
		nd.KeepAlive = 0 // Go's default period
	}
	conn, err := nd.Dial(s.Network(), s.Addr())
	if err != nil || d.tls == nil {
		return conn, err
	}
	cfg := d.tls.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = s.Host
	}
	tc := tls.Client(conn, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("tls: %w", err)
	}
	return tc, nil
}

// probe asks s for its version on a connection of its own: the cheap
// health check of an ejected or unreachable server.
func (d *dialer) probe(s twemconf.Server, timeout time.Duration) error {
	conn, err := d.dial(s)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write([]byte("version\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReaderSize(conn, 256).ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("VERSION ")) {
		return fmt.Errorf("%w: %q to version", errOutOfSync, bytes.TrimSpace(line))
	}
	return nil
}

// resolve looks up a server's host name; ok is false for an IP address or a
// unix socket, which never change.
func resolve(ctx context.Context, s twemconf.Server) (addrs []string, ok bool, err error) {
	if s.Path != "" || net.ParseIP(s.Host) != nil {
		return nil, false, nil
	}
	addrs, err = net.DefaultResolver.LookupHost(ctx, s.Host)
	if err != nil {
		return nil, true, err
	}
	slices.Sort(addrs)
	return addrs, true, nil
}
