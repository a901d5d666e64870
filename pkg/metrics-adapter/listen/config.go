package listen

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// Handler receives one packet: a UDP or unixgram datagram, or a batch of
// complete newline-terminated TCP lines (with "\r\n" turned into "\n").
// packet is valid only until Handler returns.
type Handler func(packet []byte)

// Config configures a Listener. At least one address and NewHandler are
// required; zero fields take the defaults below.
type Config struct {
	UDPAddr      string      // host:port; "": no UDP
	TCPAddr      string      // host:port; "": no TCP
	UnixgramPath string      // socket path; "": no unixgram
	UnixgramMode os.FileMode // 0: 0o755, statsd_exporter's --statsd.unixsocket-mode

	// Sockets is the number of UDP sockets bound to UDPAddr with
	// SO_REUSEPORT; 0: GOMAXPROCS. Also the number of unixgram readers.
	Sockets int
	// ReadersPerSocket is the number of goroutines reading each UDP socket;
	// 0: 2. The kernel picks a socket by the sender's address and port, so
	// one chatty sender lands on one socket: its readers share its load.
	ReadersPerSocket int
	// ReadBuffer is SO_RCVBUF in bytes for each UDP and unixgram socket;
	// 0: 4 MiB; < 0: leave the OS default (net.core.rmem_default).
	// SO_RCVBUFFORCE is tried first (it needs CAP_NET_ADMIN); without it
	// the kernel caps the size at net.core.rmem_max. SocketInfo reports
	// what was granted.
	ReadBuffer int
	// MaxPacketSize is the read buffer per goroutine: the largest datagram
	// taken (a longer one is dropped and counted as Truncated) and the
	// largest TCP batch; 0: 65535, statsd.DefaultMaxPacketSize.
	MaxPacketSize int
	// MaxLineLength is the longest TCP line in bytes, without "\r\n";
	// a longer one is skipped and counted, the connection kept; 0: 8192,
	// statsd.DefaultMaxLineLength. statsd_exporter closes the connection
	// on a line over 4096 bytes.
	MaxLineLength int
	// MaxConns bounds open TCP connections; one over it is closed at once
	// and counted; 0: 1024.
	MaxConns int

	// NewHandler is called once per reading goroutine and per TCP
	// connection; the Handler it returns is only called from that
	// goroutine. Required.
	NewHandler func() Handler
}

// Defaults.
const (
	// DefaultReadBuffer: 4 MiB takes a burst of about 3000 full 1400-byte
	// datagrams (about 100k lines) per socket while the readers catch up;
	// statsd_exporter measured here went from 275k to 700k lossless
	// lines/s with it. It is also Debian's and many distributions'
	// net.core.rmem_max, so it is granted without privileges there.
	DefaultReadBuffer       = 4 << 20
	DefaultReadersPerSocket = 2
	DefaultMaxPacketSize    = 65535
	DefaultMaxLineLength    = 8192
	DefaultMaxConns         = 1024
	DefaultUnixgramMode     = os.FileMode(0o755)
)

// ErrNoHandler is returned by Listen when Config.NewHandler is nil.
var ErrNoHandler = errors.New("listen: NewHandler: required")

func (c Config) withDefaults() (Config, error) {
	if c.NewHandler == nil {
		return c, ErrNoHandler
	}
	if c.UDPAddr == "" && c.TCPAddr == "" && c.UnixgramPath == "" {
		return c, errors.New("listen: UDPAddr, TCPAddr, UnixgramPath: at least one required")
	}
	def := func(name string, v *int, d int) error {
		if *v < 0 {
			return fmt.Errorf("listen: %s: must be >= 0 (got %d)", name, *v)
		}
		if *v == 0 {
			*v = d
		}
		return nil
	}
	for _, f := range []struct {
		name string
		v    *int
		d    int
	}{
		{"Sockets", &c.Sockets, runtime.GOMAXPROCS(0)},
		{"ReadersPerSocket", &c.ReadersPerSocket, DefaultReadersPerSocket},
		{"MaxPacketSize", &c.MaxPacketSize, DefaultMaxPacketSize},
		{"MaxLineLength", &c.MaxLineLength, DefaultMaxLineLength},
		{"MaxConns", &c.MaxConns, DefaultMaxConns},
	} {
		if err := def(f.name, f.v, f.d); err != nil {
			return c, err
		}
	}
	if c.ReadBuffer == 0 {
		c.ReadBuffer = DefaultReadBuffer
	}
	if c.UnixgramMode == 0 {
		c.UnixgramMode = DefaultUnixgramMode
	}
	if c.UnixgramMode&^os.ModePerm != 0 {
		return c, fmt.Errorf("listen: UnixgramMode: permission bits only (got %v)", c.UnixgramMode)
	}
	// The TCP buffer holds a partial line of up to MaxLineLength+1 bytes
	// (a trailing '\r') plus at least one byte to read into.
	if c.TCPAddr != "" && c.MaxPacketSize < c.MaxLineLength+3 {
		return c, fmt.Errorf("listen: MaxPacketSize: must exceed MaxLineLength+2 for TCP (got %d, MaxLineLength %d)", c.MaxPacketSize, c.MaxLineLength)
	}
	return c, nil
}
