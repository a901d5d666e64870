package memcacheproxy

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/memcachedtest"
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
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // never answers
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	paddr, p := startProxy(t, 0, l.Addr().String()) // no timeout: it would wait forever
	c := dial(t, paddr)
	c.send("get k\r\n")
	waitFor(t, "the request to be sent", func() bool { return p.st.Load().backends[0].inFlight.Load() == 1 })
	c.c.(*net.TCPConn).SetLinger(0) // close with a reset
	c.c.Close()
	waitFor(t, "the client to be released", func() bool { return p.clients.Load() == 0 })
}
