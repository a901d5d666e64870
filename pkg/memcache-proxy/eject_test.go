package memcacheproxy

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/memcachedtest"
	"github.com/podkit/podkit/internal/proctest"
)

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// keyOn returns a key the full ring puts on server i.
func keyOn(t *testing.T, p *Proxy, i int) string {
	t.Helper()
	for n := range 10000 {
		k := "key:" + strconv.Itoa(n)
		if p.Pick([]byte(k)) == i {
			return k
		}
	}
	t.Fatalf("no key for server %d", i)
	return ""
}

// direct sends req straight to a memcached and returns the reply up to and
// including the line want ends with.
func direct(t *testing.T, addr, req, end string) string {
	t.Helper()
	c := dial(t, addr)
	c.send(req)
	var b strings.Builder
	for !strings.HasSuffix(b.String(), end) {
		line, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %q then %v", addr, b.String(), err)
		}
		b.WriteString(line)
	}
	return b.String()
}

// ejectedOne runs a two-server pool with auto-eject, stops server 1 and
// writes its key until the proxy ejects it; it returns what it needs to go
// on.
func ejectedOne(t *testing.T, drop bool) (p *Proxy, c *conn, a, b memcachedtest.Server, keyA, keyB string) {
	a, b = memcachedtest.Start(t), memcachedtest.Start(t)
	pool := testPool(t, time.Second, a.Addr, b.Addr)
	pool.AutoEjectHosts = true
	pool.ServerFailureLimit = 2
	pool.ServerRetryTimeout = 100 * time.Millisecond
	paddr, p := startWith(t, pool, func(c *Config) { c.EjectDrop = drop })
	waitFor(t, "both servers probed", func() bool { return p.st.Load().backends[1].reachable.Load() })
	keyA, keyB = keyOn(t, p, 0), keyOn(t, p, 1)
	c = dial(t, paddr)
	c.roundTrip("set "+keyB+" 0 0 3\r\nold\r\n", "STORED\r\n")
	b.Stop()
	errs := 0
	for range 10 {
		c.send("set " + keyB + " 0 0 3\r\nnew\r\n")
		line, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(line, "SERVER_ERROR ") {
			t.Fatalf("before ejection: %q", line)
		}
		errs++
		if p.st.Load().out[1] {
			break
		}
	}
	if errs > pool.ServerFailureLimit || !p.st.Load().out[1] {
		t.Fatalf("%d errors, ejected %v; want ejection within server_failure_limit %d", errs, p.st.Load().out[1], pool.ServerFailureLimit)
	}
	return p, c, a, b, keyA, keyB
}

func TestAutoEjectRehashesThenRejoins(t *testing.T) {
	p, c, a, b, _, keyB := ejectedOne(t, false)
	// Re-hashed onto the survivor, as twemproxy does.
	c.roundTrip("set "+keyB+" 0 0 3\r\nnew\r\n", "STORED\r\n")
	c.roundTrip("get "+keyB+"\r\n", "VALUE "+keyB+" 0 3\r\nnew\r\nEND\r\n")
	if got := direct(t, a.Addr, "get "+keyB+"\r\n", "END\r\n"); !strings.Contains(got, "new") {
		t.Fatalf("server 0 has %q, want the re-hashed value", got)
	}
	if err := p.Ready(); err != nil {
		t.Fatalf("Ready with one server up: %v", err)
	}
	// It rejoins once a probe succeeds, and its keys go home.
	back := memcachedtest.StartWith(t, b.Addr)
	waitFor(t, "the server to rejoin", func() bool { return !p.st.Load().out[1] })
	c.roundTrip("set "+keyB+" 0 0 4\r\nhome\r\n", "STORED\r\n")
	if got := direct(t, back.Addr, "get "+keyB+"\r\n", "END\r\n"); !strings.Contains(got, "home") {
		t.Fatalf("server 1 has %q after rejoining", got)
	}
}

func TestAutoEjectDropAnswersMisses(t *testing.T) {
	p, c, a, _, keyA, keyB := ejectedOne(t, true)
	c.roundTrip("set "+keyB+" 0 0 1\r\nx\r\n", "SERVER_ERROR server ejected\r\n")
	c.roundTrip("set "+keyA+" 0 0 1\r\ny\r\n", "STORED\r\n")
	// keyB is a miss, never server 0's copy.
	c.roundTrip("get "+keyB+" "+keyA+"\r\n", "VALUE "+keyA+" 0 1\r\ny\r\nEND\r\n")
	if got := direct(t, a.Addr, "get "+keyB+"\r\n", "END\r\n"); got != "END\r\n" {
		t.Fatalf("fail-fast wrote %q to server 0", got)
	}
	if err := p.Ready(); err != nil {
		t.Fatalf("Ready with one server up: %v", err)
	}
}

func TestReadyFollowsServers(t *testing.T) {
	addr := proctest.FreeAddr(t)
	_, p := startWith(t, testPool(t, time.Second, addr), nil)
	waitFor(t, "a failed probe", func() bool { return p.st.Load().backends[0].lastErr.Load() != nil })
	if err := p.Ready(); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Ready with the only server down: %v", err)
	}
	memcachedtest.StartWith(t, addr)
	waitFor(t, "Ready after the server started", func() bool { return p.Ready() == nil })
}

// A server answering one request at a time, slowly: the second of two
// pipelined requests times out from when it was sent, not from when the
// first was answered.
func TestTimeoutCountsFromSend(t *testing.T) {
	const delay, timeout = 300 * time.Millisecond, 450 * time.Millisecond
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if line == "version\r\n" {
						c.Write([]byte("VERSION 1\r\n"))
						continue
					}
					time.Sleep(delay)
					c.Write([]byte("END\r\n"))
				}
			}()
		}
	}()
	paddr, _ := startProxy(t, timeout, l.Addr().String())
	c := dial(t, paddr)
	c.roundTrip("get a\r\nget b\r\n", "END\r\nSERVER_ERROR Connection timed out\r\n")
}

func TestResolveResetsChangedAddress(t *testing.T) {
	m := memcachedtest.Start(t)
	_, port, _ := net.SplitHostPort(m.Addr)
	paddr, p := startProxy(t, time.Second, "localhost:"+port)
	c := dial(t, paddr)
	c.roundTrip("set k 0 0 1\r\nv\r\n", "STORED\r\n")
	b := p.st.Load().backends[0]
	b.resolved.Store(&[]string{"192.0.2.1"}) // as if the name pointed elsewhere before
	before := totalConnections(t, m.Addr)
	p.resolveOnce(context.Background())
	addrs := *b.resolved.Load()
	if len(addrs) == 0 || addrs[0] == "192.0.2.1" {
		t.Fatalf("addresses after lookup: %v", addrs)
	}
	// The loops replace the connection asynchronously: each stats call
	// below is one more connection of its own.
	for i := 1; i <= 100; i++ {
		c.roundTrip("get k\r\n", "VALUE k 0 1\r\nv\r\nEND\r\n")
		if after := totalConnections(t, m.Addr); after-before > i {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the proxy kept its connection after the address changed")
}

func totalConnections(t *testing.T, addr string) int {
	t.Helper()
	for _, line := range strings.Split(direct(t, addr, "stats\r\n", "END\r\n"), "\r\n") {
		if v, ok := strings.CutPrefix(line, "STAT total_connections "); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no total_connections in stats")
	return 0
}

// A host name that does not resolve: the error says so, on the wire and in
// readiness.
func TestUnresolvableServer(t *testing.T) {
	paddr, p := startProxy(t, time.Second, "nonexistent.invalid:11211")
	c := dial(t, paddr)
	c.roundTrip("get k\r\n", "SERVER_ERROR Host not found: nonexistent.invalid\r\n")
	waitFor(t, "a failed probe", func() bool { return p.st.Load().backends[0].lastErr.Load() != nil })
	if err := p.Ready(); err == nil || !strings.Contains(err.Error(), "Host not found: nonexistent.invalid") {
		t.Fatalf("Ready: %v", err)
	}
}
