package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/bench/mcload/load"
)

// liar answers every set STORED and every get with a well-formed value of
// the right length that mcload never wrote.
func liar(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					f := strings.Fields(line)
					switch {
					case len(f) == 5 && f[0] == "set":
						n, _ := strconv.Atoi(f[4])
						if _, err := r.Discard(n + 2); err != nil {
							return
						}
						c.Write([]byte("STORED\r\n"))
					case len(f) > 1 && f[0] == "get":
						var b bytes.Buffer
						for _, k := range f[1:] {
							b.WriteString("VALUE " + k + " 1 100\r\n" + strings.Repeat("x", 100) + "\r\n")
						}
						b.WriteString("END\r\n")
						c.Write(b.Bytes())
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func TestExitCodes(t *testing.T) {
	addr := liar(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"bad ratio", []string{"-ratio", "9"}, 2, "-ratio"},
		{"bad config", []string{"-keys", "2", "-conns", "4"}, 2, "Keys"},
		{"bad pid", []string{"-pid", "x"}, 2, "-pid"},
		{"argument", []string{"extra"}, 2, "unexpected argument"},
		{"nobody listening", []string{"-addr", "127.0.0.1:1", "-n", "10"}, 1, "connection 1"},
		{"values not verified", []string{"-addr", addr, "-n", "100", "-multiget", "3", "-pipeline", "4"}, 1, "FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.err) {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, stderr.String())
			}
		})
	}
}

// Against memcached: exit 0 and JSON a driver can read back.
func TestJSON(t *testing.T) {
	bin, err := exec.LookPath("memcached")
	if err != nil {
		t.Fatalf("memcached not found (apt-get install memcached, or make deps): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(bin, "-u", "root", "-l", "127.0.0.1", "-p", port, "-U", "0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := "127.0.0.1:" + port
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("memcached did not start")
		}
	}
	var stdout, stderr bytes.Buffer
	args := []string{"-addr", addr, "-n", "5000", "-multiget", "10", "-pipeline", "4", "-json", "-pid", strconv.Itoa(cmd.Process.Pid)}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var res load.Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if res.Ops != 5000 || res.HitRatio != 1 || res.Errors.Total() != 0 || len(res.Targets) != 1 || res.Latency.All.P99US <= 0 {
		t.Errorf("result %s", stdout.String())
	}
	stdout.Reset()
	if code := run(args[:len(args)-3], &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "ops/s") {
		t.Errorf("table: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}
