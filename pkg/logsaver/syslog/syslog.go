package syslog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/podkit/podkit/pkg/logsaver/record"
)

// Sink writes records to one syslog server over TCP, one connection at a
// time, reconnecting after an error.
type Sink struct {
	opts    Options
	labels  []record.Label // sanitized
	timeout time.Duration
	log     *slog.Logger

	conn net.Conn // nil: connect at the next Send
	buf  []byte   // the framed batch, reused
}

// Name is syslog+tcp://HOST:PORT.
func (s *Sink) Name() string { return "syslog+tcp://" + s.opts.Addr }

// UsesRecords implements record.RecordsUser: syslog frames each record
// itself.
func (s *Sink) UsesRecords() bool { return true }

// Send writes every record of b, in order, as one write, and returns nil
// once it is in the socket's send buffer: TCP syslog has no
// acknowledgement (see the package comment). Before writing, it replaces
// a connection the server closed. On an error the connection is dropped,
// and the next Send reconnects; the server may have received part of the
// batch, which logsaver sends again (at-least-once).
func (s *Sink) Send(ctx context.Context, b *record.Batch) error {
	if len(b.Records) == 0 {
		return nil
	}
	s.buf = s.buf[:0]
	for i := range b.Records {
		s.buf = s.appendFrame(s.buf, &b.Records[i])
	}
	if s.conn != nil && peerClosed(s.conn) {
		s.log.Warn("syslog server closed the connection; reconnecting")
		s.drop()
	}
	if s.conn == nil {
		d := net.Dialer{Timeout: s.timeout, KeepAlive: 30 * time.Second}
		c, err := d.DialContext(ctx, "tcp", s.opts.Addr)
		if err != nil {
			return fmt.Errorf("syslog: %s: %w", s.opts.Addr, err)
		}
		s.log.Debug("syslog connected", "local_addr", c.LocalAddr().String())
		s.conn = c
	}
	deadline := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = s.conn.SetWriteDeadline(deadline)
	// A cancelled ctx interrupts a blocked write through its deadline.
	conn := s.conn
	stop := context.AfterFunc(ctx, func() { _ = conn.SetWriteDeadline(time.Unix(1, 0)) })
	_, err := s.conn.Write(s.buf)
	stop()
	if cap(s.buf) > 8<<20 {
		s.buf = nil // do not keep a giant batch's buffer
	}
	if err != nil {
		s.drop()
		if ctx.Err() != nil {
			return fmt.Errorf("syslog: %s: write: %w", s.opts.Addr, context.Cause(ctx))
		}
		return fmt.Errorf("syslog: %s: write: %w", s.opts.Addr, err)
	}
	return nil
}

func (s *Sink) drop() {
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
}

// closeWait bounds how long Close waits for the server to close its end.
const closeWait = 2 * time.Second

// Close ends the connection cleanly: it shuts down the sending side and
// waits (up to 2 s) for the server to close its end, which rsyslog and
// syslog-ng do once they have read everything before the end of stream.
func (s *Sink) Close() error {
	if s.conn == nil {
		return nil
	}
	c := s.conn
	s.conn = nil
	if tc, ok := c.(*net.TCPConn); ok {
		if err := tc.CloseWrite(); err == nil {
			_ = tc.SetReadDeadline(time.Now().Add(closeWait))
			_, err = io.Copy(io.Discard, tc)
			if err != nil && !errors.Is(err, net.ErrClosed) {
				s.log.Debug("syslog close: server did not close its end", "err", err)
			}
		}
	}
	return c.Close()
}
