package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// A few lines of memcached's text protocol, enough for the demo app's cache
// and the runner's checks: the quickstart stays stdlib-only.

// mcTimeout bounds a dial, and each request with its answer.
const mcTimeout = 2 * time.Second

type mcConn struct {
	c net.Conn
	r *bufio.Reader
}

func mcDial(ctx context.Context, addr string) (*mcConn, error) {
	d := net.Dialer{Timeout: mcTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &mcConn{c: c, r: bufio.NewReader(c)}, nil
}

// send writes one request, starting its deadline.
func (m *mcConn) send(format string, a ...any) error {
	m.c.SetDeadline(time.Now().Add(mcTimeout))
	_, err := fmt.Fprintf(m.c, format, a...)
	return err
}

func (m *mcConn) Close() error { return m.c.Close() }

// validKey is memcached's rule: 1 to 250 bytes, no spaces or control bytes.
func validKey(k string) bool {
	if len(k) == 0 || len(k) > 250 {
		return false
	}
	for i := range len(k) {
		if k[i] <= ' ' || k[i] == 0x7f {
			return false
		}
	}
	return true
}

func (m *mcConn) line() (string, error) {
	l, err := m.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	l = strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r")
	if l == "ERROR" || strings.HasPrefix(l, "CLIENT_ERROR") || strings.HasPrefix(l, "SERVER_ERROR") {
		return "", errors.New(l)
	}
	return l, nil
}

// get returns the value of key, or ok false on a miss.
func (m *mcConn) get(key string) (value []byte, ok bool, err error) {
	if err := m.send("get %s\r\n", key); err != nil {
		return nil, false, err
	}
	l, err := m.line()
	if err != nil || l == "END" {
		return nil, false, err
	}
	// VALUE <key> <flags> <bytes>
	f := strings.Fields(l)
	if len(f) != 4 || f[0] != "VALUE" || f[1] != key {
		return nil, false, fmt.Errorf("unexpected answer to get: %q", l)
	}
	n, err := strconv.Atoi(f[3])
	if err != nil || n < 0 {
		return nil, false, fmt.Errorf("unexpected answer to get: %q", l)
	}
	value = make([]byte, n+2)
	if _, err := io.ReadFull(m.r, value); err != nil {
		return nil, false, err
	}
	if l, err := m.line(); err != nil || l != "END" {
		return nil, false, fmt.Errorf("unexpected end of get: %q (%v)", l, err)
	}
	return value[:n], true, nil
}

func (m *mcConn) set(key string, value []byte, ttl time.Duration) error {
	if err := m.send("set %s 0 %d %d\r\n%s\r\n", key, int(ttl.Seconds()), len(value), value); err != nil {
		return err
	}
	l, err := m.line()
	if err == nil && l != "STORED" {
		err = fmt.Errorf("unexpected answer to set: %q", l)
	}
	return err
}

// version is the cheapest request a memcached, or a proxy, answers itself.
func (m *mcConn) version() (string, error) {
	if err := m.send("version\r\n"); err != nil {
		return "", err
	}
	l, err := m.line()
	if err != nil {
		return "", err
	}
	v, ok := strings.CutPrefix(l, "VERSION ")
	if !ok {
		return "", fmt.Errorf("unexpected answer to version: %q", l)
	}
	return v, nil
}
