package memcacheproxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/memcachedtest"
	"github.com/podkit/podkit/internal/proctest"
	"github.com/podkit/podkit/pkg/memcache-proxy/hashkit"
	"github.com/podkit/podkit/pkg/memcache-proxy/twemconf"
)

// startProxy runs a proxy over addrs and returns its address and the pool.
func startProxy(t *testing.T, timeout time.Duration, addrs ...string) (string, *Proxy) {
	t.Helper()
	return startWith(t, testPool(t, timeout, addrs...), nil)
}

// testPool is a default pool over addrs (weight 1 each), listening on a
// free port.
func testPool(t *testing.T, timeout time.Duration, addrs ...string) twemconf.Pool {
	t.Helper()
	pool := twemconf.DefaultPool()
	var err error
	pool.Listen, err = twemconf.ParseListen(proctest.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	pool.Timeout = timeout
	for _, a := range addrs {
		s, err := twemconf.ParseServerFlag(a + ":1")
		if err != nil {
			t.Fatal(err)
		}
		pool.Servers = append(pool.Servers, s)
	}
	return pool
}

// startWith serves pool, with cfg's other fields set by mod, until the test
// ends.
func startWith(t *testing.T, pool twemconf.Pool, mod func(*Config)) (string, *Proxy) {
	t.Helper()
	cfg := Config{Pool: pool}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Listen(pool)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return l.Addr().String(), p
}

type conn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &conn{t, c, bufio.NewReader(c)}
}

func (c *conn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatal(err)
	}
}

// expect reads exactly len(want) bytes and compares.
func (c *conn) expect(want string) {
	c.t.Helper()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c.r, got); err != nil {
		c.t.Fatalf("reading %q: got %q, %v", want, got, err)
	}
	if string(got) != want {
		c.t.Fatalf("got %q, want %q", got, want)
	}
}

func (c *conn) roundTrip(req, want string) {
	c.t.Helper()
	c.send(req)
	c.expect(want)
}

func TestSetGet(t *testing.T) {
	a, b := memcachedtest.Start(t).Addr, memcachedtest.Start(t).Addr
	paddr, _ := startProxy(t, 0, a, b)
	c := dial(t, paddr)
	c.roundTrip("set foo 5 0 3\r\nbar\r\n", "STORED\r\n")
	c.roundTrip("get foo\r\n", "VALUE foo 5 3\r\nbar\r\nEND\r\n")
	c.roundTrip("delete foo\r\n", "DELETED\r\n")
	c.roundTrip("get foo\r\n", "END\r\n")
	c.roundTrip("incr n 1\r\n", "NOT_FOUND\r\n")
	c.roundTrip("set n 0 0 1\r\n5\r\n", "STORED\r\n")
	c.roundTrip("incr n 3\r\n", "8\r\n")
	c.roundTrip("ms m 2 T0\r\nhi\r\n", "HD\r\n")
	c.roundTrip("mg m v\r\n", "VA 2\r\nhi\r\n")
	c.roundTrip("mg missing v q\r\nmn\r\n", "MN\r\n")
	c.roundTrip("version\r\n", "VERSION "+Version+"\r\n")
	c.roundTrip("verbosity 1\r\n", "OK\r\n")
	c.roundTrip("flush_all\r\n", "CLIENT_ERROR flush_all not allowed\r\n")
	c.roundTrip("bogus\r\n", "ERROR\r\n")
	c.send("stats\r\n")
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "END\r\n" {
			break
		}
		if !strings.HasPrefix(line, "STAT ") {
			t.Fatalf("stats: %q", line)
		}
	}
	c.send("quit\r\n")
	if _, err := c.r.ReadByte(); err != io.EOF {
		t.Fatalf("after quit: %v, want EOF", err)
	}
}

// The key lands on the server hashkit picks, checked on that memcached
// directly, and the proxy reads it back.
func TestPlacementMatchesHashkit(t *testing.T) {
	addrs := []string{memcachedtest.Start(t).Addr, memcachedtest.Start(t).Addr, memcachedtest.Start(t).Addr}
	paddr, p := startProxy(t, 0, addrs...)
	var hs []hashkit.Server
	for _, a := range addrs {
		hs = append(hs, hashkit.Server{Addr: a, Weight: 1})
	}
	ring, err := hashkit.New(hashkit.Config{Servers: hs})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, paddr)
	direct := make([]*conn, len(addrs))
	for i, a := range addrs {
		direct[i] = dial(t, a)
	}
	used := make(map[int]bool)
	// At least 60 keys, and on until every server holds some.
	for i := 0; i < 60 || (len(used) < len(addrs) && i < 2000); i++ {
		key := "key" + strconv.Itoa(i)
		want := ring.Pick([]byte(key))
		if got := p.Pick([]byte(key)); got != want {
			t.Fatalf("Proxy.Pick(%s) = %d, hashkit = %d", key, got, want)
		}
		used[want] = true
		c.roundTrip(fmt.Sprintf("set %s 0 0 %d\r\n%s\r\n", key, len(key), key), "STORED\r\n")
		for s, d := range direct {
			if s == want {
				d.roundTrip("get "+key+"\r\n", fmt.Sprintf("VALUE %s 0 %d\r\n%s\r\nEND\r\n", key, len(key), key))
			} else {
				d.roundTrip("get "+key+"\r\n", "END\r\n")
			}
		}
	}
	if len(used) != len(addrs) {
		t.Fatalf("keys used only servers %v", used)
	}
}

func TestMultigetOrder(t *testing.T) {
	a, b, cc := memcachedtest.Start(t).Addr, memcachedtest.Start(t).Addr, memcachedtest.Start(t).Addr
	paddr, p := startProxy(t, 0, a, b, cc)
	c := dial(t, paddr)
	// Keys until every server holds three.
	byServer := make([][]string, 3)
	for i := 0; len(byServer[0]) < 3 || len(byServer[1]) < 3 || len(byServer[2]) < 3; i++ {
		if i > 5000 {
			t.Fatalf("keys by server: %v", byServer)
		}
		k := "k" + strconv.Itoa(i)
		s := p.Pick([]byte(k))
		byServer[s] = append(byServer[s], k)
		c.roundTrip(fmt.Sprintf("set %s %d 0 %d\r\n%s\r\n", k, i, len(k), k), "STORED\r\n")
	}
	// Client order across servers, with duplicates and misses interleaved.
	x, y, z := byServer[0], byServer[1], byServer[2]
	ask := []string{y[2], "miss1", x[0], z[1], y[2], x[2], "miss2", z[0], x[0], y[0], z[2], y[1], y[2]}
	var want strings.Builder
	for _, k := range ask {
		if strings.HasPrefix(k, "miss") {
			continue
		}
		i, _ := strconv.Atoi(k[1:])
		fmt.Fprintf(&want, "VALUE %s %d %d\r\n%s\r\n", k, i, len(k), k)
	}
	want.WriteString("END\r\n")
	c.roundTrip("get "+strings.Join(ask, " ")+"\r\n", want.String())

	// gets carries cas values: check the shape and order.
	c.send("gets " + z[0] + " " + x[1] + " nope " + z[0] + "\r\n")
	for _, k := range []string{z[0], x[1], z[0]} {
		line, err := c.r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "VALUE "+k+" ") || len(strings.Fields(line)) != 5 {
			t.Fatalf("gets: %q, %v", line, err)
		}
		c.expect(k + "\r\n")
	}
	c.expect("END\r\n")
	c.roundTrip("get nope1 nope2 nope3\r\n", "END\r\n")
	c.roundTrip("gat 0\r\n", "END\r\n")
	i1, _ := strconv.Atoi(y[1][1:])
	i2, _ := strconv.Atoi(x[1][1:])
	c.roundTrip("gat 100 "+y[1]+" nope "+x[1]+"\r\n", fmt.Sprintf("VALUE %s %d %d\r\n%s\r\nVALUE %s %d %d\r\n%s\r\nEND\r\n",
		y[1], i1, len(y[1]), y[1], x[1], i2, len(x[1]), x[1]))
}

func TestPipelinedAndNoreply(t *testing.T) {
	a, b := memcachedtest.Start(t).Addr, memcachedtest.Start(t).Addr
	paddr, _ := startProxy(t, 0, a, b)
	c := dial(t, paddr)
	var req, want strings.Builder
	for i := 0; i < 200; i++ {
		k := "p" + strconv.Itoa(i)
		if i%3 == 0 {
			fmt.Fprintf(&req, "set %s 0 0 %d noreply\r\n%s\r\n", k, len(k), k)
		} else {
			fmt.Fprintf(&req, "set %s 0 0 %d\r\n%s\r\n", k, len(k), k)
			want.WriteString("STORED\r\n")
		}
		fmt.Fprintf(&req, "get %s p0 nothere\r\n", k)
		fmt.Fprintf(&want, "VALUE %s 0 %d\r\n%s\r\nVALUE p0 0 2\r\np0\r\nEND\r\n", k, len(k), k)
		if i%10 == 0 {
			req.WriteString("version\r\n")
			want.WriteString("VERSION " + Version + "\r\n")
			fmt.Fprintf(&req, "delete %s noreply\r\nget %s\r\n", k, k)
			want.WriteString("END\r\n")
			fmt.Fprintf(&req, "set %s 0 0 %d noreply\r\n%s\r\n", k, len(k), k)
		}
	}
	// Send from another goroutine: the proxy may answer before reading all.
	go io.WriteString(c.c, req.String())
	c.expect(want.String())

	// Many clients at once, sharing the server connections.
	done := make(chan error, 8)
	for n := 0; n < 8; n++ {
		go func() {
			d, err := net.Dial("tcp", paddr)
			if err != nil {
				done <- err
				return
			}
			defer d.Close()
			d.SetDeadline(time.Now().Add(20 * time.Second))
			var req, want strings.Builder
			for i := 0; i < 50; i++ {
				k := fmt.Sprintf("c%d-%d", n, i)
				fmt.Fprintf(&req, "set %s 0 0 %d\r\n%s\r\nget %s\r\n", k, len(k), k, k)
				fmt.Fprintf(&want, "STORED\r\nVALUE %s 0 %d\r\n%s\r\nEND\r\n", k, len(k), k)
			}
			go io.WriteString(d, req.String())
			got := make([]byte, want.Len())
			if _, err := io.ReadFull(d, got); err != nil {
				done <- err
				return
			}
			if string(got) != want.String() {
				done <- fmt.Errorf("client %d: got %q", n, got)
				return
			}
			done <- nil
		}()
	}
	for n := 0; n < 8; n++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestDeadBackend(t *testing.T) {
	live := memcachedtest.Start(t).Addr
	dead := proctest.FreeAddr(t) // nothing listens: connection refused
	paddr, p := startProxy(t, time.Second, live, dead)
	c := dial(t, paddr)
	var deadKey, liveKey string
	for i := 0; deadKey == "" || liveKey == ""; i++ {
		k := "d" + strconv.Itoa(i)
		if p.Pick([]byte(k)) == 1 {
			deadKey = k
		} else {
			liveKey = k
		}
	}
	start := time.Now()
	c.roundTrip("set "+deadKey+" 0 0 1\r\nx\r\n", "SERVER_ERROR Connection refused\r\n")
	c.roundTrip("get "+deadKey+"\r\n", "SERVER_ERROR Connection refused\r\n")
	c.roundTrip("get "+liveKey+" "+deadKey+"\r\n", "SERVER_ERROR Connection refused\r\n")
	c.roundTrip("set "+deadKey+" 0 0 1 noreply\r\nx\r\nset "+liveKey+" 0 0 1\r\ny\r\n", "STORED\r\n")
	c.roundTrip("get "+liveKey+"\r\n", "VALUE "+liveKey+" 0 1\r\ny\r\nEND\r\n")
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Fatalf("refused took %v", d)
	}
}

// A server that accepts and never answers: SERVER_ERROR after the timeout,
// and the next request gets a fresh connection.
func TestBackendTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Connections that carried requests; health probes (version) aside.
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				line, _ := bufio.NewReader(c).ReadString('\n')
				if line == "version\r\n" {
					c.Close()
					return
				}
				accepted <- c
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for {
			select {
			case c := <-accepted:
				c.Close()
			default:
				return
			}
		}
	})
	paddr, _ := startProxy(t, 300*time.Millisecond, l.Addr().String())
	c := dial(t, paddr)
	start := time.Now()
	c.roundTrip("get a\r\nset b 0 0 1\r\nx\r\n", "SERVER_ERROR Connection timed out\r\nSERVER_ERROR Connection timed out\r\n")
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Fatalf("timeout after %v", d)
	}
	c.roundTrip("get a\r\n", "SERVER_ERROR Connection timed out\r\n")
	for i := 0; i < 200 && len(accepted) < 2; i++ {
		time.Sleep(10 * time.Millisecond) // the accept goroutine reads the first line
	}
	if n := len(accepted); n != 2 {
		t.Fatalf("%d server connections, want 2 (reset after the timeout)", n)
	}
}

func TestServeShutdown(t *testing.T) {
	a := memcachedtest.Start(t).Addr
	pool := twemconf.DefaultPool()
	s, _ := twemconf.ParseServerFlag(a)
	pool.Servers = []twemconf.Server{s}
	pool.Listen, _ = twemconf.ParseListen("127.0.0.1:1")
	p, err := New(Config{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Serve(ctx, l) }()
	c := dial(t, l.Addr().String())
	c.roundTrip("set k 0 0 1\r\nv\r\n", "STORED\r\n")
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := c.r.ReadByte(); err != io.EOF {
		t.Fatalf("client after shutdown: %v, want EOF", err)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Config{Pool: twemconf.DefaultPool()}); err == nil {
		t.Fatal("New without servers: no error")
	}
}

// Rejected requests: the reply memcached gives; a set over the item size
// drops the old value on its server; a bad data chunk closes the client.
func TestRejects(t *testing.T) {
	a, b := memcachedtest.Start(t).Addr, memcachedtest.Start(t).Addr
	paddr, _ := startProxy(t, 0, a, b)
	c := dial(t, paddr)
	c.roundTrip("set big 0 0 1\r\nv\r\n", "STORED\r\n")
	big := strings.Repeat("x", 2<<20)
	c.send("set big 0 0 " + strconv.Itoa(len(big)) + "\r\n")
	go io.WriteString(c.c, big+"\r\nget big\r\n")
	c.expect("SERVER_ERROR object too large for cache\r\nEND\r\n")
	c.roundTrip("set k 0 0 1\r\nxyz\r\n", "CLIENT_ERROR bad data chunk\r\n")
	if _, err := c.r.ReadByte(); err != io.EOF {
		t.Fatalf("after bad data chunk: %v, want EOF", err)
	}
}

// With the random distribution each key's server is picked once per request:
// the merge must not pick again.
func TestRandomDistribution(t *testing.T) {
	a, b := memcachedtest.Start(t).Addr, memcachedtest.Start(t).Addr
	pool := twemconf.DefaultPool()
	pool.Distribution = "random"
	for _, addr := range []string{a, b} {
		s, _ := twemconf.ParseServerFlag(addr)
		pool.Servers = append(pool.Servers, s)
	}
	pool.Listen, _ = twemconf.ParseListen("127.0.0.1:1")
	p, err := New(Config{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); <-errc })
	c := dial(t, l.Addr().String())
	// Store every key on both servers directly: any pick hits.
	for _, addr := range []string{a, b} {
		d := dial(t, addr)
		for _, k := range []string{"a", "b", "c"} {
			d.roundTrip("set "+k+" 0 0 1\r\n"+k+"\r\n", "STORED\r\n")
		}
	}
	for i := 0; i < 20; i++ {
		c.roundTrip("get a b c a\r\n", "VALUE a 0 1\r\na\r\nVALUE b 0 1\r\nb\r\nVALUE c 0 1\r\nc\r\nVALUE a 0 1\r\na\r\nEND\r\n")
	}
}
