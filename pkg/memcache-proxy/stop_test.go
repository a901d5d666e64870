package memcacheproxy

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// A loop that drained and exited has closed its wake pipe: a forced stop
// must not write to that descriptor number, which may belong to anything
// now. Clients go to the loops in turn: c0 to loop 0, c1 to loop 1.
func TestForcedStopSparesExitedLoops(t *testing.T) {
	pool := testPool(t, 0, silentServer(t))
	p, err := New(Config{Pool: pool, Loops: 2, ShutdownTimeout: time.Second})
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
	c0 := dial(t, l.Addr().String()) // loop 0: idle
	c1 := dial(t, l.Addr().String()) // loop 1: waits on the silent server
	c0.roundTrip("version\r\n", "VERSION "+Version+"\r\n")
	c1.send("get k\r\n")
	time.Sleep(100 * time.Millisecond)
	cancel()
	loops := *p.loops.Load()
	waitFor(t, "loop 0 to exit", loops[0].hasExited)
	// Take the descriptor numbers loop 0 let go.
	var fds []int
	for range 4 {
		sp, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, sp[0], sp[1])
	}
	defer func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}()
	<-errc
	for i := 0; i < len(fds); i += 2 {
		for _, fd := range fds[i : i+2] {
			var b [8]byte
			if n, _ := syscall.Read(fd, b[:]); n > 0 {
				t.Errorf("fd %d received %q from the exited loop's wake", fd, b[:n])
			}
		}
	}
}
