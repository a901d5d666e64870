package listen

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
)

// Listener owns the bound sockets and the goroutines reading them.
type Listener struct {
	cfg Config

	udp      []*dgramSocket
	unixgram *dgramSocket
	tcp      net.Listener

	udpReaders  []*reader
	unixReaders []*reader
	tcpStats    tcpCounters

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closed  bool
	running bool
	done    chan struct{} // closed by Close
	wg      sync.WaitGroup
}

// Counters are monotonic counts for one transport, for the caller's
// metrics.
type Counters struct {
	Packets      uint64 // datagrams or TCP batches handed to the Handler
	Bytes        uint64 // bytes handed to the Handler
	Truncated    uint64 // datagrams longer than MaxPacketSize, dropped
	LinesTooLong uint64 // TCP lines longer than MaxLineLength, skipped
	ReadErrors   uint64 // failed reads other than close
	Conns        uint64 // TCP connections accepted
	ConnsLimited uint64 // TCP connections closed at once: MaxConns open
	ConnsOpen    uint64 // TCP connections open now (a gauge)
}

// Stats holds the counters per transport.
type Stats struct {
	UDP, TCP, Unixgram Counters
	// UDPPerSocket is packets received per UDP socket: an uneven spread
	// means few senders (the kernel hashes the source address and port).
	UDPPerSocket []uint64
}

// Listen validates cfg and binds every configured socket, so that a bad
// address fails before anything runs. Nothing is read until Run.
func Listen(cfg Config) (*Listener, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Listener{cfg: cfg, conns: make(map[net.Conn]struct{}), done: make(chan struct{})}
	if err := l.bind(); err != nil {
		l.closeSockets()
		return nil, err
	}
	return l, nil
}

func (l *Listener) bind() error {
	c := l.cfg
	if c.UDPAddr != "" {
		socks, err := listenUDP(c.UDPAddr, c.Sockets, c.ReadBuffer)
		if err != nil {
			return err
		}
		l.udp = socks
		for _, s := range socks {
			for range c.ReadersPerSocket {
				l.udpReaders = append(l.udpReaders, newReader(s, c.MaxPacketSize))
			}
		}
	}
	if c.UnixgramPath != "" {
		s, err := listenUnixgram(c.UnixgramPath, c.UnixgramMode, c.ReadBuffer)
		if err != nil {
			return err
		}
		l.unixgram = s
		for range c.Sockets {
			l.unixReaders = append(l.unixReaders, newReader(s, c.MaxPacketSize))
		}
	}
	if c.TCPAddr != "" {
		ln, err := net.Listen("tcp", c.TCPAddr)
		if err != nil {
			return err
		}
		l.tcp = ln
	}
	return nil
}

// UDPAddr is the bound UDP address (nil without UDP): the port chosen
// when UDPAddr asked for port 0.
func (l *Listener) UDPAddr() net.Addr {
	if len(l.udp) == 0 {
		return nil
	}
	return l.udp[0].conn.LocalAddr()
}

// TCPAddr is the bound TCP address (nil without TCP).
func (l *Listener) TCPAddr() net.Addr {
	if l.tcp == nil {
		return nil
	}
	return l.tcp.Addr()
}

// SocketInfo describes one bound datagram socket.
type SocketInfo struct {
	Network string // "udp" or "unixgram"
	Addr    string
	Inode   uint64 // as in /proc/self/fd links "socket:[INODE]"
	// RcvBuf is SO_RCVBUF as getsockopt reports it: the kernel doubles
	// the size asked for to cover its bookkeeping, and caps what it
	// doubles at net.core.rmem_max unless Forced.
	RcvBuf int
	Forced bool // SO_RCVBUFFORCE worked (CAP_NET_ADMIN)
}

// Sockets describes the bound datagram sockets, for a startup log line.
func (l *Listener) Sockets() []SocketInfo {
	var out []SocketInfo
	for _, s := range l.udp {
		out = append(out, s.info)
	}
	if l.unixgram != nil {
		out = append(out, l.unixgram.info)
	}
	return out
}

// Run reads every socket until ctx is done or Close is called, then
// closes them and returns nil once every goroutine has ended. It returns an error only when the
// Listener was closed or already run.
func (l *Listener) Run(ctx context.Context) error {
	l.mu.Lock()
	if l.closed || l.running {
		l.mu.Unlock()
		return errors.New("listen: Run: listener closed or already running")
	}
	l.running = true
	for _, r := range l.udpReaders {
		l.start(r, &l.wg)
	}
	for _, r := range l.unixReaders {
		l.start(r, &l.wg)
	}
	if l.tcp != nil {
		l.wg.Add(1)
		go l.acceptLoop()
	}
	l.mu.Unlock()

	select {
	case <-ctx.Done():
	case <-l.done:
	}
	l.Close()
	l.wg.Wait()
	return nil
}

func (l *Listener) start(r *reader, wg *sync.WaitGroup) {
	wg.Add(1)
	h := l.cfg.NewHandler()
	go func() {
		defer wg.Done()
		r.loop(h)
	}()
}

// Close closes every socket and connection, which ends the goroutines Run
// started (Run waits for them), and removes the unixgram socket file.
// It is safe to call more than once and without Run.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	return l.closeSockets()
}

func (l *Listener) closeSockets() error {
	var errs []error
	for _, s := range l.udp {
		errs = append(errs, s.conn.Close())
	}
	if l.unixgram != nil {
		errs = append(errs, l.unixgram.conn.Close())
		if err := os.Remove(l.cfg.UnixgramPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if l.tcp != nil {
		errs = append(errs, l.tcp.Close())
	}
	return errors.Join(errs...)
}

// Stats returns the counters so far. It is cheap: the caller may poll it
// on every scrape.
func (l *Listener) Stats() Stats {
	var st Stats
	per := make(map[*dgramSocket]uint64)
	for _, r := range l.udpReaders {
		r.c.addTo(&st.UDP)
		per[r.sock] += r.c.packets.Load()
	}
	for _, s := range l.udp {
		st.UDPPerSocket = append(st.UDPPerSocket, per[s])
	}
	for _, r := range l.unixReaders {
		r.c.addTo(&st.Unixgram)
	}
	t := &l.tcpStats
	st.TCP = Counters{
		Packets:      t.packets.Load(),
		Bytes:        t.bytes.Load(),
		LinesTooLong: t.tooLong.Load(),
		ReadErrors:   t.readErrors.Load(),
		Conns:        t.conns.Load(),
		ConnsLimited: t.limited.Load(),
		ConnsOpen:    uint64(t.open.Load()),
	}
	return st
}

// readerCounters are written by one reader goroutine only; the padding
// keeps readers on different cores off each other's cache lines.
type readerCounters struct {
	packets, bytes, truncated, readErrors atomic.Uint64
	_                                     [64 - 4*8]byte
}

func (c *readerCounters) addTo(dst *Counters) {
	dst.Packets += c.packets.Load()
	dst.Bytes += c.bytes.Load()
	dst.Truncated += c.truncated.Load()
	dst.ReadErrors += c.readErrors.Load()
}

type tcpCounters struct {
	packets, bytes, tooLong, readErrors, conns, limited atomic.Uint64
	open                                                atomic.Int64
}
