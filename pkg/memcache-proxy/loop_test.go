package memcacheproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/memcachedtest"
	"github.com/podkit/podkit/pkg/memcache-proxy/twemconf"
)

// A client that pipelines far more than maxPending requests: the loop stops
// reading it while answers are pending, resumes, and every answer comes
// back in order.
func TestPipelineBackPressure(t *testing.T) {
	a, b := memcachedtest.Start(t).Addr, memcachedtest.Start(t).Addr
	paddr, _ := startProxy(t, 5*time.Second, a, b)
	c := dial(t, paddr)
	const n = 20 * maxPending
	c.roundTrip("set k1 0 0 2\r\nv1\r\nset k2 0 0 2\r\nv2\r\n", "STORED\r\nSTORED\r\n")
	var req, want strings.Builder
	for i := range n {
		k := 1 + i%3 // k3 is a miss
		fmt.Fprintf(&req, "get k%d\r\n", k)
		if k == 3 {
			want.WriteString("END\r\n")
		} else {
			fmt.Fprintf(&want, "VALUE k%d 0 2\r\nv%d\r\nEND\r\n", k, k)
		}
	}
	go io.WriteString(c.c, req.String())
	c.expect(want.String())
}

// Values at the item size limit cross the loop's buffers whole, both ways.
func TestLargeValues(t *testing.T) {
	m := memcachedtest.StartWith(t, "", "-I", "2m")
	paddr, _ := startProxy(t, 5*time.Second, m.Addr)
	c := dial(t, paddr)
	big := strings.Repeat("0123456789abcdef", (1<<20)/16)
	go io.WriteString(c.c, "set big 0 0 1048576\r\n"+big+"\r\nget big\r\n")
	c.expect("STORED\r\nVALUE big 0 1048576\r\n" + big + "\r\nEND\r\n")
}

// A client that sends half a command and leaves: nothing is forwarded, and
// the proxy goes on serving others.
func TestHalfCommandThenGone(t *testing.T) {
	m := memcachedtest.Start(t).Addr
	paddr, p := startProxy(t, time.Second, m)
	c := dial(t, paddr)
	c.send("set half 0 0 10\r\nabc")
	c.c.Close()
	waitFor(t, "the client to be released", func() bool { return p.clients.Load() == 0 })
	d := dial(t, paddr)
	d.roundTrip("get half\r\n", "END\r\n")
}

// A client whose connection is reset while its request waits on a server
// that never answers is let go at once, not polled for again and again. (A
// client that only closes its sending side gets its answers first, as with
// twemproxy.)
func TestClientGoneWhileWaiting(t *testing.T) {
	paddr, p := startProxy(t, 0, silentServer(t)) // no timeout: it would wait forever
	c := dial(t, paddr)
	c.send("get k\r\n")
	waitFor(t, "the request to be sent", func() bool { return p.st.Load().backends[0].inFlight.Load() == 1 })
	c.c.(*net.TCPConn).SetLinger(0) // close with a reset
	c.c.Close()
	waitFor(t, "the client to be released", func() bool { return p.clients.Load() == 0 })
}

// Unix sockets on both sides, and preconnect: the servers see the proxy's
// connections before any request.
func TestUnixSocketsAndPreconnect(t *testing.T) {
	dir := t.TempDir()
	a, b := dir+"/a.sock", dir+"/b.sock"
	memcachedtest.StartWith(t, "", "-s", a)
	memcachedtest.StartWith(t, "", "-s", b)
	pool := twemconf.DefaultPool()
	var err error
	if pool.Listen, err = twemconf.ParseListen(dir + "/proxy.sock 0600"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{a + ":1 a", b + ":1 b"} {
		srv, err := twemconf.ParseServerFlag(s)
		if err != nil {
			t.Fatal(err)
		}
		pool.Servers = append(pool.Servers, srv)
	}
	pool.Preconnect = true
	_, p := startWith(t, pool, func(c *Config) { c.Loops = 2 })
	// memcached counts our stats connection and one preconnected
	// connection per loop (a health probe, one at a time, makes at most 2).
	for _, srv := range []string{a, b} {
		waitFor(t, "preconnected "+srv, func() bool {
			return strings.Contains(directUnix(t, srv, "stats\r\n", "END\r\n"), "STAT curr_connections 3\r\n")
		})
	}
	c, err := net.Dial("unix", dir+"/proxy.sock")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cc := &conn{t, c, bufio.NewReader(c)}
	ka, kb := keyOn(t, p, 0), keyOn(t, p, 1)
	cc.roundTrip("set "+ka+" 0 0 1\r\na\r\nset "+kb+" 0 0 1\r\nb\r\n", "STORED\r\nSTORED\r\n")
	cc.roundTrip("get "+ka+" "+kb+"\r\n", "VALUE "+ka+" 0 1\r\na\r\nVALUE "+kb+" 0 1\r\nb\r\nEND\r\n")
	if got := directUnix(t, b, "get "+kb+"\r\n", "END\r\n"); !strings.Contains(got, "VALUE "+kb) {
		t.Fatalf("server b has %q", got)
	}
}

func directUnix(t *testing.T, path, req, end string) string {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	var sb strings.Builder
	for !strings.HasSuffix(sb.String(), end) {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %q then %v", path, sb.String(), err)
		}
		sb.WriteString(line)
	}
	return sb.String()
}

// silentServer accepts connections and never answers; it closes them when
// the test ends.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	})
	return l.Addr().String()
}
