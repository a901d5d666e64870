package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// soReusePort is SO_REUSEPORT, which package syscall lacks: the
// asm-generic value, used by amd64, arm, arm64, ppc64, riscv64 and s390x
// (mips, sparc and parisc differ).
const soReusePort = 0xf

// dgramSocket is one bound UDP or unixgram socket.
type dgramSocket struct {
	conn net.PacketConn
	raw  syscall.RawConn
	info SocketInfo
}

// listenUDP binds n sockets to addr with SO_REUSEPORT. The first one picks
// the port when addr asks for port 0; the others bind to what it got.
func listenUDP(addr string, n, rcvbuf int) ([]*dgramSocket, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
		}); err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("setsockopt SO_REUSEPORT: %w", serr)
		}
		return nil
	}}
	var socks []*dgramSocket
	closeAll := func() {
		for _, s := range socks {
			s.conn.Close()
		}
	}
	for i := range n {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("listen: udp %s: %w", addr, err)
		}
		s, err := newDgramSocket(pc, "udp", rcvbuf)
		if err != nil {
			pc.Close()
			closeAll()
			return nil, fmt.Errorf("listen: udp %s: %w", addr, err)
		}
		socks = append(socks, s)
		if i == 0 {
			addr = pc.LocalAddr().String()
		}
	}
	// SO_REUSEPORT would let this bind share a port another process (of the
	// same user) already holds, splitting its traffic silently: refuse.
	inodes := make(map[uint64]bool)
	for _, s := range socks {
		inodes[s.info.Inode] = true
	}
	if other, err := foreignSameAddr(inodes); err == nil && other != 0 {
		closeAll()
		return nil, fmt.Errorf("listen: udp %s: %w (socket inode %d)", addr, ErrAddrInUse, other)
	}
	return socks, nil
}

// ErrAddrInUse is returned by Listen when another socket with
// SO_REUSEPORT is already bound to the UDP address.
var ErrAddrInUse = errors.New("address already in use by another SO_REUSEPORT socket")

// listenUnixgram binds path, removing a stale socket file (one nobody
// receives on) first, and sets its mode.
func listenUnixgram(path string, mode os.FileMode, rcvbuf int) (*dgramSocket, error) {
	ua := &net.UnixAddr{Name: path, Net: "unixgram"}
	pc, err := net.ListenUnixgram("unixgram", ua)
	if err != nil && errors.Is(err, syscall.EADDRINUSE) {
		if fi, serr := os.Lstat(path); serr == nil && fi.Mode()&os.ModeSocket != 0 {
			c, derr := net.Dial("unixgram", path)
			if derr == nil {
				c.Close()
				return nil, fmt.Errorf("listen: unixgram %s: in use by another process", path)
			}
			if errors.Is(derr, syscall.ECONNREFUSED) {
				os.Remove(path)
				pc, err = net.ListenUnixgram("unixgram", ua)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("listen: unixgram %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		pc.Close()
		os.Remove(path)
		return nil, fmt.Errorf("listen: unixgram %s: %w", path, err)
	}
	s, err := newDgramSocket(pc, "unixgram", rcvbuf)
	if err != nil {
		pc.Close()
		os.Remove(path)
		return nil, fmt.Errorf("listen: unixgram %s: %w", path, err)
	}
	return s, nil
}

func newDgramSocket(pc net.PacketConn, network string, rcvbuf int) (*dgramSocket, error) {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return nil, errors.New("not a syscall.Conn")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	s := &dgramSocket{conn: pc, raw: raw, info: SocketInfo{Network: network, Addr: pc.LocalAddr().String()}}
	var serr error
	err = raw.Control(func(fd uintptr) {
		if rcvbuf > 0 {
			// FORCE ignores net.core.rmem_max; it needs CAP_NET_ADMIN.
			if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, rcvbuf) == nil {
				s.info.Forced = true
			} else if serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf); serr != nil {
				serr = fmt.Errorf("setsockopt SO_RCVBUF: %w", serr)
				return
			}
		}
		if s.info.RcvBuf, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF); serr != nil {
			serr = fmt.Errorf("getsockopt SO_RCVBUF: %w", serr)
			return
		}
		var st syscall.Stat_t
		if serr = syscall.Fstat(int(fd), &st); serr != nil {
			serr = fmt.Errorf("fstat: %w", serr)
			return
		}
		s.info.Inode = st.Ino
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// reader is one goroutine's view of a socket: its own buffer and counters.
type reader struct {
	sock  *dgramSocket
	buf   []byte
	n     int
	errno syscall.Errno
	recvf func(fd uintptr) bool // r.recv, bound once: no allocation per read
	c     readerCounters
}

func newReader(s *dgramSocket, size int) *reader {
	r := &reader{sock: s, buf: make([]byte, size)}
	r.recvf = r.recv
	return r
}

// recv is one recvfrom(2) on the non-blocking socket. MSG_TRUNC makes it
// return a datagram's real length, so one longer than the buffer is
// noticed (UDP, and unixgram since Linux 3.4). It passes no address
// buffer: syscall.Recvfrom would allocate one per datagram.
func (r *reader) recv(fd uintptr) bool {
	for {
		n, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, fd,
			uintptr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)), syscall.MSG_TRUNC, 0, 0)
		switch e {
		case 0:
			r.n, r.errno = int(n), 0
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait for the poller
		default:
			r.errno = e
			return true
		}
	}
}

// loop hands datagrams to h until the socket is closed. Readers sharing a
// socket take turns in the read (Go serialises reads on one descriptor);
// their handlers run in parallel.
func (r *reader) loop(h Handler) {
	for {
		if err := r.sock.raw.Read(r.recvf); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.c.readErrors.Add(1)
			continue
		}
		if r.errno != 0 {
			r.c.readErrors.Add(1)
			continue
		}
		if r.n > len(r.buf) {
			r.c.truncated.Add(1)
			continue
		}
		r.c.packets.Add(1)
		r.c.bytes.Add(uint64(r.n))
		h(r.buf[:r.n])
	}
}
