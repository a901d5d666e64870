package memcacheproxy

import (
	"fmt"
	"io"
	"strings"
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
