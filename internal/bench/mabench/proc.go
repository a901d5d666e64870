package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// proc is a child process mabench started. It is only ever signalled by its
// own pid: the machine may run other statsd_exporter processes.
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
	// A process group of its own: a Ctrl-C at the terminal reaches mabench
	// alone, which stops its children in order.
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

// failed describes a process that did not come up or died, with the end of
// its log.
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

func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

const upTimeout = 10 * time.Second

// waitHTTP waits until url answers 200, within upTimeout; false when the
// process exited or the time ran out.
func (p *proc) waitHTTP(url string) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for deadline := time.Now().Add(upTimeout); time.Now().Before(deadline); {
		if !p.alive() {
			return p.failed("exited before " + url + " answered 200")
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

// freeAddr returns a loopback address of network ("tcp" or "udp") that was
// free a moment ago; the server may lose it before binding, so starts retry.
func freeAddr(network string) (string, error) {
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

// findStatsdExporter returns the flag's value if set, else statsd_exporter
// on PATH, else in $(go env GOPATH)/bin, where make deps installs it.
func findStatsdExporter(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p, err := exec.LookPath("statsd_exporter"); err == nil {
		return p, nil
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "statsd_exporter")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("statsd_exporter not found on PATH or in $(go env GOPATH)/bin (make deps installs v0.31.0)")
}
