package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// proc is a child process mcbench started. It is only ever signalled by its
// own pid: the machine may run other memcached or nutcracker processes.
type proc struct {
	name   string
	cmd    *exec.Cmd
	log    string        // its stdout and stderr
	exited chan struct{} // closed when Wait returns
}

func startProc(name, logPath, bin string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// A process group of its own: a Ctrl-C at the terminal then reaches
	// mcbench alone, which stops its children in order, instead of the
	// servers dying under a run and the run reporting errors.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop asks the process to end (SIGTERM), and kills it after 5 s.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// failed describes a process that did not come up, with the end of its log.
func (p *proc) failed(what string) error {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	state := "running"
	select {
	case <-p.exited:
		state = p.cmd.ProcessState.String()
	default:
	}
	return fmt.Errorf("%s (pid %d, %s) %s; its log:\n%s", p.name, p.pid(), state, what, bytes.TrimSpace(b))
}

const upTimeout = 10 * time.Second

// waitTCP waits until addr accepts a connection, the process exits, or
// upTimeout passes.
func (p *proc) waitTCP(addr string) error {
	for deadline := time.Now().Add(upTimeout); time.Now().Before(deadline); {
		select {
		case <-p.exited:
			return p.failed("exited before accepting on " + addr)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p.failed(fmt.Sprintf("did not accept on %s within %s", addr, upTimeout))
}

// waitHTTP waits until url answers 200, within upTimeout.
func (p *proc) waitHTTP(url string) error {
	// No keep-alive: an idle connection would outlive the wait.
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for deadline := time.Now().Add(upTimeout); time.Now().Before(deadline); {
		select {
		case <-p.exited:
			return p.failed("exited before " + url + " answered 200")
		default:
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p.failed(fmt.Sprintf("%s not 200 within %s", url, upTimeout))
}

// freeAddr returns a loopback address that was free a moment ago; the
// server may lose it to another process before binding, so starts retry.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// findBin returns the flag's value if set, else name on PATH, else in the
// directories Debian installs daemons to, which a non-root PATH may lack.
func findBin(name, flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in /usr/sbin, /usr/bin (make deps installs it)", name)
}

// rssKiB returns VmRSS of pid from /proc/PID/status, in KiB.
func rssKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(string(f[0]), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
}
