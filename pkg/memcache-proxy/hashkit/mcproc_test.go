package hashkit

// Helpers of the side-by-side test: memcached and nutcracker processes, and
// a minimal memcached text-protocol client.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/proctest"
)

// mcServer is a memcached process the test started.
type mcServer struct {
	network, addr string // "tcp" "127.0.0.1:PORT" or "unix" "/path"
}

// lookBin finds a server binary, also where Debian puts daemons
// (/usr/sbin), which a non-root PATH may lack.
func lookBin(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Fatalf("%s not found (scripts/deps.sh installs it; make test runs it)", name)
	return ""
}

// keepFileLimit makes the child processes inherit this process's open-file
// limit: Go raises its own soft limit to the hard one but restores the
// original in children unless the program sets the limit itself, and one
// nutcracker serving every pool holds several hundred sockets.
func keepFileLimit(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("getrlimit: %v", err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("setrlimit: %v", err)
	}
	if lim.Cur < 2048 {
		t.Logf("open-file limit %d: nutcracker may run short of sockets", lim.Cur)
	}
}

func memcachedArgs() []string {
	args := []string{"-U", "0", "-t", "1", "-m", "64", "-c", "4096"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root") // memcached refuses root without -u
	}
	return args
}

// startMemcachedTCP starts memcached on host:port; port 0 picks a free one
// (retrying if another process takes it first).
func startMemcachedTCP(t *testing.T, bin, host string, port int) mcServer {
	t.Helper()
	for range 5 {
		p := port
		if p == 0 {
			p = proctest.FreePort(t, host)
		}
		addr := net.JoinHostPort(host, strconv.Itoa(p))
		proc := proctest.Start(t, bin, append(memcachedArgs(), "-l", host, "-p", strconv.Itoa(p))...)
		if proc.WaitUntil(func() bool { return proctest.Dials("tcp", addr) }) {
			return mcServer{"tcp", addr}
		}
		proc.Stop()
		if port != 0 {
			break
		}
	}
	t.Fatalf("memcached on %s:%d did not start", host, port)
	return mcServer{}
}

func startMemcachedUnix(t *testing.T, bin, path string) mcServer {
	t.Helper()
	proc := proctest.Start(t, bin, append(memcachedArgs(), "-s", path)...)
	if !proc.WaitUntil(func() bool { return proctest.Dials("unix", path) }) {
		t.Fatalf("memcached on %s did not start", path)
	}
	return mcServer{"unix", path}
}

// mcConn is a minimal memcached text-protocol client.
type mcConn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func dialMC(network, addr string) (*mcConn, error) {
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	return &mcConn{c, bufio.NewReaderSize(c, 64<<10), bufio.NewWriterSize(c, 64<<10)}, nil
}

func (m *mcConn) line() (string, error) {
	s, err := m.r.ReadString('\n')
	return strings.TrimSuffix(s, "\r\n"), err
}

// set stores each key (value "1") pipelined, and returns each reply line.
func (m *mcConn) set(keys [][]byte) ([]string, error) {
	replies := make([]string, 0, len(keys))
	for start := 0; start < len(keys); start += 500 {
		batch := keys[start:min(start+500, len(keys))]
		for _, k := range batch {
			m.w.WriteString("set ")
			m.w.Write(k)
			m.w.WriteString(" 0 0 1\r\n1\r\n")
		}
		if err := m.w.Flush(); err != nil {
			return nil, err
		}
		for range batch {
			l, err := m.line()
			if err != nil {
				return nil, err
			}
			replies = append(replies, l)
		}
	}
	return replies, nil
}

// present returns which keys the server holds, by multi-key GETs.
func (m *mcConn) present(keys [][]byte) (map[string]bool, error) {
	found := map[string]bool{}
	const perGet = 25
	for start := 0; start < len(keys); start += perGet * 40 {
		end := min(start+perGet*40, len(keys))
		cmds := 0
		for i := start; i < end; i += perGet {
			m.w.WriteString("get")
			for _, k := range keys[i:min(i+perGet, end)] {
				m.w.WriteString(" ")
				m.w.Write(k)
			}
			m.w.WriteString("\r\n")
			cmds++
		}
		if err := m.w.Flush(); err != nil {
			return nil, err
		}
		for cmds > 0 {
			l, err := m.line()
			if err != nil {
				return nil, err
			}
			switch {
			case l == "END":
				cmds--
			case strings.HasPrefix(l, "VALUE "):
				f := strings.Split(l, " ")
				if len(f) != 4 {
					return nil, fmt.Errorf("bad reply %q", l)
				}
				n, _ := strconv.Atoi(f[3])
				if _, err := m.r.Discard(n + 2); err != nil {
					return nil, err
				}
				found[f[1]] = true
			default:
				return nil, fmt.Errorf("unexpected reply %q", l)
			}
		}
	}
	return found, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
