package listen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// collector gathers packets from every handler and counts the handlers.
type collector struct {
	mu       sync.Mutex
	handlers int
	got      chan string
}

func newCollector(n int) *collector { return &collector{got: make(chan string, n)} }

func (c *collector) NewHandler() Handler {
	c.mu.Lock()
	c.handlers++
	c.mu.Unlock()
	return func(p []byte) { c.got <- string(p) }
}

// next waits for one packet; the timeout only stops a broken test.
func (c *collector) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-c.got:
		return s
	case <-time.After(20 * time.Second):
		t.Fatal("timed out waiting for a packet")
		return ""
	}
}

// start runs l until the test ends and checks Run's result.
func start(t *testing.T, l *Listener) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func dialUDP(t *testing.T, addr net.Addr, n int) []net.Conn {
	t.Helper()
	var cs []net.Conn
	for range n {
		c, err := net.Dial("udp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		cs = append(cs, c)
	}
	return cs
}

// sendWindowed sends total datagrams round robin over cs, at most window
// unreceived at once, so that no buffer can overflow whatever the speed.
func sendWindowed(t *testing.T, cs []net.Conn, col *collector, total, window int) map[string]bool {
	t.Helper()
	got := make(map[string]bool)
	inflight := 0
	for i := range total {
		if inflight == window {
			got[col.next(t)] = true
			inflight--
		}
		if _, err := fmt.Fprintf(cs[i%len(cs)], "m%d:1|c", i); err != nil {
			t.Fatal(err)
		}
		inflight++
	}
	for ; inflight > 0; inflight-- {
		got[col.next(t)] = true
	}
	return got
}

func TestUDPReceivesAll(t *testing.T) {
	const total = 5000
	col := newCollector(total)
	l, err := Listen(Config{UDPAddr: "127.0.0.1:0", Sockets: 3, ReadersPerSocket: 2, NewHandler: col.NewHandler})
	if err != nil {
		t.Fatal(err)
	}
	start(t, l)
	got := sendWindowed(t, dialUDP(t, l.UDPAddr(), 16), col, total, 200)
	for i := range total {
		if !got[fmt.Sprintf("m%d:1|c", i)] {
			t.Fatalf("packet %d missing", i)
		}
	}
	st := l.Stats()
	if st.UDP.Packets != total || st.UDP.ReadErrors != 0 || st.UDP.Truncated != 0 {
		t.Errorf("stats = %+v", st.UDP)
	}
	col.mu.Lock()
	if col.handlers != 6 {
		t.Errorf("NewHandler called %d times, want 6 (3 sockets × 2 readers)", col.handlers)
	}
	col.mu.Unlock()
	for _, si := range l.Sockets() {
		t.Logf("socket %s inode %d rcvbuf %d forced %v", si.Addr, si.Inode, si.RcvBuf, si.Forced)
	}
}

func TestReusePortSpreads(t *testing.T) {
	const senders = 64
	col := newCollector(senders)
	l, err := Listen(Config{UDPAddr: "127.0.0.1:0", Sockets: 4, ReadersPerSocket: 1, NewHandler: col.NewHandler})
	if err != nil {
		t.Fatal(err)
	}
	start(t, l)
	// One datagram from each of 64 source ports: the kernel hashes the
	// 4-tuple, so all 64 landing on one of 4 sockets has odds 4^-63.
	sendWindowed(t, dialUDP(t, l.UDPAddr(), senders), col, senders, 8)
	per := l.Stats().UDPPerSocket
	used := 0
	for _, n := range per {
		if n > 0 {
			used++
		}
	}
	if used < 2 {
		t.Errorf("packets per socket = %v: SO_REUSEPORT did not spread", per)
	}
	t.Logf("packets per socket: %v", per)
}

func TestUDPTruncated(t *testing.T) {
	col := newCollector(4)
	l, err := Listen(Config{UDPAddr: "127.0.0.1:0", Sockets: 1, ReadersPerSocket: 1, MaxPacketSize: 8, NewHandler: col.NewHandler})
	if err != nil {
		t.Fatal(err)
	}
	start(t, l)
	c := dialUDP(t, l.UDPAddr(), 1)[0]
	c.Write([]byte("too-long:1|c"))
	c.Write([]byte("a:1|c"))
	if got := col.next(t); got != "a:1|c" {
		t.Errorf("got %q", got)
	}
	if st := l.Stats().UDP; st.Truncated != 1 || st.Packets != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestSocketInodes(t *testing.T) {
	l, err := Listen(Config{UDPAddr: "127.0.0.1:0", Sockets: 2, NewHandler: newCollector(0).NewHandler})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	links := make(map[string]bool)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	for _, e := range ents {
		if s, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil {
			links[s] = true
		}
	}
	for _, si := range l.Sockets() {
		if !links[fmt.Sprintf("socket:[%d]", si.Inode)] {
			t.Errorf("inode %d not among /proc/self/fd links", si.Inode)
		}
		if si.RcvBuf <= 0 {
			t.Errorf("RcvBuf = %d", si.RcvBuf)
		}
	}
	ks, err := l.KernelStats()
	if err != nil {
		t.Fatal(err)
	}
	if ks.Sockets != 2 || ks.Drops != 0 {
		t.Errorf("KernelStats = %+v, want 2 sockets, 0 drops", ks)
	}
}

func TestKernelDrops(t *testing.T) {
	// A minimal receive buffer and no reader: the kernel must drop.
	l, err := Listen(Config{UDPAddr: "127.0.0.1:0", Sockets: 1, ReadBuffer: 1, NewHandler: newCollector(0).NewHandler})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Logf("rcvbuf granted: %d", l.Sockets()[0].RcvBuf)
	c := dialUDP(t, l.UDPAddr(), 1)[0]
	payload := []byte(strings.Repeat("x", 1000))
	for range 200 {
		if _, err := c.Write(payload); err != nil {
			t.Fatal(err)
		}
	}
	// Loopback delivers in the sender's context: the drops are counted
	// once Write returns.
	ks, err := l.KernelStats()
	if errors.Is(err, ErrNoProcNetUDP) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if ks.Drops == 0 || ks.Queued == 0 || ks.Sockets != 1 {
		t.Errorf("KernelStats = %+v, want drops and queued bytes", ks)
	}
	t.Logf("KernelStats = %+v", ks)
}

func TestAddrInUse(t *testing.T) {
	if _, err := os.Stat("/proc/net/udp"); err != nil {
		t.Skip("the guard reads /proc/net/udp:", err)
	}
	h := newCollector(0).NewHandler
	l, err := Listen(Config{UDPAddr: "127.0.0.1:0", Sockets: 2, NewHandler: h})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l2, err := Listen(Config{UDPAddr: l.UDPAddr().String(), NewHandler: h})
	if !errors.Is(err, ErrAddrInUse) {
		if l2 != nil {
			l2.Close()
		}
		t.Fatalf("second Listen on %s: err = %v, want ErrAddrInUse", l.UDPAddr(), err)
	}
}

func TestUnixgram(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "statsd.sock")
	// A stale socket file, as a crashed process leaves it.
	stale, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	stale.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("stale socket file: %v", err)
	}

	col := newCollector(100)
	l, err := Listen(Config{UnixgramPath: path, UnixgramMode: 0o720, Sockets: 2, NewHandler: col.NewHandler})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o720 {
		t.Errorf("mode = %v, want 0720", fi.Mode().Perm())
	}
	// A second listener must not steal a live socket.
	if l2, err := Listen(Config{UnixgramPath: path, NewHandler: col.NewHandler}); err == nil {
		l2.Close()
		t.Error("second Listen on a live unixgram path succeeded")
	}
	start(t, l)
	c, err := net.Dial("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := sendWindowed(t, []net.Conn{c}, col, 100, 10)
	if len(got) != 100 {
		t.Errorf("got %d distinct packets, want 100", len(got))
	}
	if st := l.Stats().Unixgram; st.Packets != 100 {
		t.Errorf("stats = %+v", st)
	}
	l.Close()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after Close: %v", err)
	}
}

func TestUnixgramNotASocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err := Listen(Config{UnixgramPath: path, NewHandler: newCollector(0).NewHandler}); err == nil {
		l.Close()
		t.Fatal("Listen over a regular file succeeded")
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "keep" {
		t.Errorf("regular file changed: %q, %v", b, err)
	}
}

func TestCloseEndsEverything(t *testing.T) {
	col := newCollector(10)
	l, err := Listen(Config{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0",
		UnixgramPath: filepath.Join(t.TempDir(), "s"), NewHandler: col.NewHandler})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- l.Run(ctx) }()
	// An open TCP connection, known to be served, must not keep Run up.
	c, err := net.Dial("tcp", l.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("a:1|c\n"))
	col.next(t)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// goleak (TestMain) checks that no goroutine is left.
	if err := l.Run(t.Context()); err == nil {
		t.Error("Run after Close succeeded")
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	h := newCollector(0).NewHandler
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no handler", Config{UDPAddr: ":0"}, "NewHandler"},
		{"no address", Config{NewHandler: h}, "at least one"},
		{"negative sockets", Config{UDPAddr: ":0", Sockets: -1, NewHandler: h}, "Sockets"},
		{"buffer under line", Config{TCPAddr: ":0", MaxPacketSize: 100, MaxLineLength: 100, NewHandler: h}, "MaxPacketSize"},
		{"mode", Config{UnixgramPath: "x", UnixgramMode: os.ModeSetuid | 0o700, NewHandler: h}, "UnixgramMode"},
		{"bad udp", Config{UDPAddr: "256.0.0.1:1", NewHandler: h}, "udp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Listen(tc.cfg)
			if err == nil {
				l.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to name %s", err, tc.want)
			}
		})
	}
}

func TestCloseEndsRun(t *testing.T) {
	l, err := Listen(Config{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", NewHandler: newCollector(0).NewHandler})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- l.Run(context.Background()) }()
	// Close may come before or after Run starts: either way Run returns.
	l.Close()
	if err := <-done; err != nil && !strings.Contains(err.Error(), "closed") {
		t.Fatal(err)
	}
}
