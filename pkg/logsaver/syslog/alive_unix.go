//go:build unix

package syslog

import (
	"net"
	"syscall"
)

// peerClosed reports whether the server closed (or reset) c: a syslog
// server never sends, so a pending end of stream or error is all a peek
// can find. Without it, the first batch after a server restart would be
// written into the dead connection and lost with no error.
func peerClosed(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR:
		case err != nil:
			closed = true
		case n == 0:
			closed = true // end of stream
		}
		return true // never wait for readability
	})
	return closed || err != nil
}
