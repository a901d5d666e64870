//go:build !unix

package syslog

import "net"

// peerClosed cannot peek here: a closed connection shows at the write
// after next.
func peerClosed(net.Conn) bool { return false }
