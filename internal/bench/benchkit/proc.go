// Package benchkit is what the bench commands under internal/bench share:
// child processes started and stopped by pid (Proc), their CPU and RSS
// read from /proc, medians, and the flag parsing and output of their
// run(args, stdout, stderr) functions. mcbench and mcload (memcache-proxy
// against nutcracker) and mabench and statsdload (metrics-adapter against
// statsd_exporter) use it.
package benchkit

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Proc is a child process a bench started. It is only ever signalled by its
// own pid: the machine may run other processes of the same program.
type Proc struct {
	name   string
	cmd    *exec.Cmd
	log    string        // its stdout and stderr
	exited chan struct{} // closed when Wait returns
}

// Start runs bin with args as the process called name, its stdout and
// stderr going to the file logPath. A goroutine waits for it; Stop ends it.
func Start(name, logPath, bin string, args ...string) (*Proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// A process group of its own: a Ctrl-C at the terminal then reaches the
	// bench alone, which stops its children in order, instead of the
	// servers dying under a run and the run reporting errors.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &Proc{name: name, cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	return p, nil
}

// PID is the process's id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Stop asks the process to end (SIGTERM), kills it after 5 s, and returns
// once it has exited.
func (p *Proc) Stop() {
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

// Alive is false once the process has exited.
func (p *Proc) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Failed describes a process that did not come up or died, with the end of
// its log.
func (p *Proc) Failed(what string) error {
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
	return fmt.Errorf("%s (pid %d, %s) %s; its log:\n%s", p.name, p.PID(), state, what, bytes.TrimSpace(b))
}

const upTimeout = 10 * time.Second

// WaitTCP waits until addr accepts a connection, the process exits, or
// 10 s pass.
func (p *Proc) WaitTCP(addr string) error {
	for deadline := time.Now().Add(upTimeout); time.Now().Before(deadline); {
		if !p.Alive() {
			return p.Failed("exited before accepting on " + addr)
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p.Failed(fmt.Sprintf("did not accept on %s within %s", addr, upTimeout))
}

// WaitHTTP waits until url answers 200, the process exits, or 10 s pass.
func (p *Proc) WaitHTTP(url string) error {
	// No keep-alive: an idle connection would outlive the wait.
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for deadline := time.Now().Add(upTimeout); time.Now().Before(deadline); {
		if !p.Alive() {
			return p.Failed("exited before " + url + " answered 200")
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p.Failed(fmt.Sprintf("%s not 200 within %s", url, upTimeout))
}

// FreeAddr returns a loopback address of network ("tcp" or "udp") that was
// free a moment ago; the server may lose it to another process before
// binding, so starts retry.
func FreeAddr(network string) (string, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		defer c.Close()
		return c.LocalAddr().String(), nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
