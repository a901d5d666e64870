// Package clitest drives the built podkit binary from black-box tests: build
// once per test binary, start a subcommand, wait for /readyz, signal it and
// check how it exits.
package clitest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bounds for waiting on a subprocess. They bound loops so a broken build
// fails instead of hanging; they are not performance assertions.
const (
	startBound = 30 * time.Second
	stopBound  = 30 * time.Second
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Main runs the package's tests and removes the built binary afterwards; call
// it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// Binary builds podkit once per test process, static as `make build` builds
// it, and returns its path. Call Main from TestMain to remove it afterwards.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "podkit-clitest-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "podkit")
		cmd := exec.Command("go", "build", "-trimpath", "-o", binPath,
			"-ldflags", "-X github.com/podkit/podkit/internal/cli.Version=clitest",
			"github.com/podkit/podkit/cmd/podkit")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Result is a finished command.
type Result struct {
	Code   int
	Stdout string
	Stderr string
}

// Run runs podkit to completion with args and extra env ("K=V").
func Run(t testing.TB, env []string, args ...string) Result {
	t.Helper()
	return RunWith(t, Options{Env: env}, args...)
}

// RunWith runs podkit to completion with args, the extra env and the
// wrapper of opts (NoAdminAddr does not apply: args are passed as given).
func RunWith(t testing.TB, opts Options, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startBound)
	defer cancel()
	name, argv := opts.command(Binary(t), args)
	cmd := exec.CommandContext(ctx, name, argv...)
	cmd.Env = append(cleanEnv(), opts.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("podkit %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return Result{Code: code, Stdout: stdout.String(), Stderr: stderr.String()}
}

// cleanEnv drops PODKIT_* (and gitsync's GITSYNC_*) from the inherited
// environment so the developer's shell cannot change what a test sees.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PODKIT_") && !strings.HasPrefix(kv, "GITSYNC_") {
			env = append(env, kv)
		}
	}
	return env
}

// Proc is a running podkit daemon.
type Proc struct {
	t       testing.TB
	cmd     *exec.Cmd
	wrapped bool
	pid     int // podkit's; resolved through the wrapper on first use
	stderr  *syncBuffer
	stdout  *syncBuffer
	done    chan struct{}
	addr    string
	addrCh  chan string
	waitErr error
}

// Options for Start.
type Options struct {
	Env []string // extra "K=V"; PODKIT_* from the test's own environment are dropped
	// NoAdminAddr leaves --admin-addr unset (the test sets it, by flag or env).
	NoAdminAddr bool
	// Wrapper is a command line that runs podkit, which must become the
	// wrapper's child by fork and exec, e.g. PID1 (podkit as PID 1 of a new
	// PID namespace). Proc.Pid and Proc.Signal then address podkit, not the
	// wrapper; the exit code is the wrapper's, which should mirror podkit's.
	Wrapper []string
}

// PID1 is a Wrapper that runs podkit as PID 1 of a fresh PID namespace with
// its own /proc, as in a container: unshare (util-linux) forks podkit and
// waits for it, exits with its code, and SIGKILLs it if unshare itself is
// killed (--kill-child), which takes the whole namespace down. Needs root.
var PID1 = []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"}

// command is the program and arguments that run podkit with args.
func (o Options) command(bin string, args []string) (string, []string) {
	if len(o.Wrapper) == 0 {
		return bin, args
	}
	argv := append(append(append([]string{}, o.Wrapper[1:]...), bin), args...)
	return o.Wrapper[0], argv
}

// Start runs `podkit sub args…` with JSON logs and, unless opts says
// otherwise, --admin-addr 127.0.0.1:0; the bound address is read from the
// daemon's "admin server listening" log line. The process is killed at test
// end if still running.
func Start(t testing.TB, opts Options, sub string, args ...string) *Proc {
	t.Helper()
	full := []string{sub, "--log-format=json"}
	if !opts.NoAdminAddr {
		full = append(full, "--admin-addr=127.0.0.1:0")
	}
	full = append(full, args...)
	name, argv := opts.command(Binary(t), full)
	cmd := exec.Command(name, argv...)
	cmd.Env = append(cleanEnv(), opts.Env...)
	p := &Proc{t: t, cmd: cmd, wrapped: len(opts.Wrapper) > 0, stderr: &syncBuffer{}, stdout: &syncBuffer{}, done: make(chan struct{}), addrCh: make(chan string, 1)}
	cmd.Stdout = p.stdout
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start podkit %s: %v", sub, err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		p.scanLogs(pr)
	}()
	go func() {
		p.waitErr = cmd.Wait()
		pw.Close()
		<-scanned // so Stderr has every line once Wait returns
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			// Still running: the test failed. Kill what podkit started
			// too, so nothing outlives the test.
			for _, pid := range Descendants(cmd.Process.Pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("podkit %s stderr:\n%s", sub, p.stderr.String())
		}
	})
	return p
}

func (p *Proc) scanLogs(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		p.stderr.Write(append(line, '\n'))
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "admin server listening" {
			select {
			case p.addrCh <- rec.Addr:
			default:
			}
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// AdminURL waits for the admin server to listen and returns its base URL.
func (p *Proc) AdminURL() string {
	p.t.Helper()
	if p.addr != "" {
		return "http://" + p.addr
	}
	select {
	case p.addr = <-p.addrCh:
		return "http://" + p.addr
	case <-p.done:
		p.t.Fatalf("podkit exited before its admin server listened: %v\n%s", p.waitErr, p.stderr.String())
	case <-time.After(startBound):
		p.t.Fatalf("no admin server after %s:\n%s", startBound, p.stderr.String())
	}
	return ""
}

// WaitReady polls /readyz until it answers 200.
func (p *Proc) WaitReady() {
	p.t.Helper()
	base := p.AdminURL()
	deadline := time.Now().Add(startBound)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			p.t.Fatalf("podkit exited before ready: %v\n%s", p.waitErr, p.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	p.t.Fatalf("/readyz not 200 after %s:\n%s", startBound, p.stderr.String())
}

// Get fetches path from the admin server and returns status and body.
func (p *Proc) Get(path string) (int, string) {
	p.t.Helper()
	resp, err := http.Get(p.AdminURL() + path)
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// Signal sends sig to podkit (not to its wrapper, if any).
func (p *Proc) Signal(sig syscall.Signal) {
	p.t.Helper()
	if !p.wrapped {
		if err := p.cmd.Process.Signal(sig); err != nil {
			p.t.Fatalf("signal %v: %v", sig, err)
		}
		return
	}
	if err := syscall.Kill(p.Pid(), sig); err != nil {
		p.t.Fatalf("signal %v to pid %d: %v", sig, p.Pid(), err)
	}
}

// Wait waits for exit and returns the exit code.
func (p *Proc) Wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(stopBound):
		p.t.Fatalf("podkit still running %s later:\n%s", stopBound, p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// Stop sends SIGTERM and fails the test unless the exit code is 0.
func (p *Proc) Stop() {
	p.t.Helper()
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(); code != 0 {
		p.t.Fatalf("exit code %d after SIGTERM, want 0:\n%s", code, p.stderr.String())
	}
}

// Stderr is everything logged so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// Stdout is everything printed so far.
func (p *Proc) Stdout() string { return p.stdout.String() }

// Pid is podkit's process ID, as this process sees it. With a Wrapper it is
// the wrapper's child running the podkit binary (found in /proc by parent
// and executable, since /proc/PID/task/TID/children needs
// CONFIG_PROC_CHILDREN); Pid waits for the wrapper to exec it.
func (p *Proc) Pid() int {
	p.t.Helper()
	if !p.wrapped {
		return p.cmd.Process.Pid
	}
	if p.pid != 0 {
		return p.pid
	}
	deadline := time.Now().Add(startBound)
	for {
		for _, pr := range Processes() {
			if pr.PPid != p.cmd.Process.Pid {
				continue
			}
			if exe, err := os.Readlink("/proc/" + strconv.Itoa(pr.Pid) + "/exe"); err == nil && exe == binPath {
				p.pid = pr.Pid
				return p.pid
			}
		}
		select {
		case <-p.done:
			p.t.Fatalf("podkit exited before its pid was found: %v\n%s", p.waitErr, p.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no podkit child of wrapper pid %d after %s", p.cmd.Process.Pid, startBound)
		}
	}
}

// WaitLog waits until a log line containing substr appears.
func (p *Proc) WaitLog(substr string) {
	p.t.Helper()
	deadline := time.Now().Add(startBound)
	for time.Now().Before(deadline) {
		if strings.Contains(p.stderr.String(), substr) {
			return
		}
		select {
		case <-p.done:
			if strings.Contains(p.stderr.String(), substr) {
				return
			}
			p.t.Fatalf("podkit exited without logging %q:\n%s", substr, p.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	p.t.Fatalf("no log line with %q after %s:\n%s", substr, startBound, p.stderr.String())
}

// Process is one line of the process table.
type Process struct {
	Pid, PPid int
	State     byte   // R, S, D, Z...
	Comm      string // the executable's name, at most 15 bytes
}

// Processes reads every process from /proc/PID/stat (proc(5)); processes
// that exit while it reads are left out.
func Processes() []Process {
	entries, _ := os.ReadDir("/proc")
	var out []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command may hold spaces and parentheses: fields follow the last ')'.
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(s[end+1:]) // state, ppid, ...
		if len(f) < 2 || len(f[0]) != 1 {
			continue
		}
		ppid, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		out = append(out, Process{Pid: pid, PPid: ppid, State: f[0][0], Comm: s[open+1 : end]})
	}
	return out
}

// Descendants lists the pids of every descendant of pid, zombies included.
func Descendants(pid int) []int {
	procs := Processes()
	var out []int
	parents := map[int]bool{pid: true}
	for grew := true; grew; {
		grew = false
		for _, pr := range procs {
			if parents[pr.PPid] && !parents[pr.Pid] {
				parents[pr.Pid] = true
				out = append(out, pr.Pid)
				grew = true
			}
		}
	}
	return out
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
