package supervisor

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// fakeSys is a process table in memory, for tests of the state machine with
// fake time (testing/synctest). Every fake process is a child of the
// supervisor; one that exits is a zombie until wait reaps it.
type fakeSys struct {
	mu         sync.Mutex
	chld, sigs chan<- os.Signal
	pid        int // getpid
	nextPid    int
	procs      map[int]*fakeProc // not yet reaped
	zombies    []int             // exited, in order, not yet reaped
	all        []*fakeProc       // every process started, in order
	kills      []fakeKill
	subreaper  bool
	lookErr    map[string]error // lookPath's errors by name
	startErr   map[string]error // start's errors by path
	// setup configures each process start makes, under the lock; by
	// default a process exits with status 0 on SIGTERM.
	setup func(f *fakeSys, p *fakeProc)
}

type fakeKill struct {
	pid int
	sig syscall.Signal
	at  time.Time
}

type fakeProc struct {
	pid, pgid  int
	argv       []string
	startedAt  time.Time
	got        []syscall.Signal              // signals it received (0 excluded)
	exitOn     map[syscall.Signal]exitStatus // signals that end it; SIGKILL always does
	unkillable bool                          // not even by SIGKILL (stuck in D state)
	exited     bool
	ws         syscall.WaitStatus
}

type exitStatus = syscall.WaitStatus

// exited is the status of a process that exited with code.
func exited(code int) exitStatus { return syscall.WaitStatus(code << 8) }

// killed is the status of a process that signal sig killed.
func killed(sig syscall.Signal) exitStatus { return syscall.WaitStatus(sig) }

func newFakeSys() *fakeSys {
	return &fakeSys{pid: 1, nextPid: 100, procs: map[int]*fakeProc{}}
}

func (f *fakeSys) notify(chld, sigs chan<- os.Signal, urgent bool) {
	if !urgent {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chld, f.sigs = chld, sigs
}

func (f *fakeSys) stopNotify(chan<- os.Signal, chan<- os.Signal) {}

func (f *fakeSys) lookPath(name string) (string, error) {
	if err := f.lookErr[name]; err != nil {
		return "", err
	}
	return "/fake/" + name, nil
}

func (f *fakeSys) start(path string, argv, _ []string, _ [3]*os.File, _ bool) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.startErr[path]; err != nil {
		return 0, err
	}
	f.nextPid++
	p := &fakeProc{pid: f.nextPid, pgid: f.nextPid, argv: argv, startedAt: time.Now(),
		exitOn: map[syscall.Signal]exitStatus{syscall.SIGTERM: exited(0)}}
	f.procs[p.pid] = p
	f.all = append(f.all, p)
	if f.setup != nil {
		f.setup(f, p)
	}
	return p.pid, nil
}

// spawnLocked adds a process in group pgid, as if a child had forked it
// and then died, leaving it to the supervisor.
func (f *fakeSys) spawnLocked(pgid int, argv ...string) *fakeProc {
	f.nextPid++
	p := &fakeProc{pid: f.nextPid, pgid: pgid, argv: argv, startedAt: time.Now(), exitOn: map[syscall.Signal]exitStatus{}}
	f.procs[p.pid] = p
	f.all = append(f.all, p)
	return p
}

func (f *fakeSys) kill(pid int, sig syscall.Signal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kills = append(f.kills, fakeKill{pid, sig, time.Now()})
	var targets []*fakeProc
	for _, p := range f.procs { // zombies included, as for kill(2)
		if pid > 0 && p.pid == pid || pid < 0 && p.pgid == -pid {
			targets = append(targets, p)
		}
	}
	if len(targets) == 0 {
		return syscall.ESRCH
	}
	for _, p := range targets {
		if sig == 0 || p.exited {
			continue
		}
		p.got = append(p.got, sig)
		if ws, ok := p.exitOn[sig]; ok {
			f.exitLocked(p, ws)
		} else if sig == syscall.SIGKILL && !p.unkillable {
			f.exitLocked(p, killed(syscall.SIGKILL))
		}
	}
	return nil
}

func (f *fakeSys) exitLocked(p *fakeProc, ws exitStatus) {
	if p.exited {
		return
	}
	p.exited, p.ws = true, ws
	f.zombies = append(f.zombies, p.pid)
	select {
	case f.chld <- syscall.SIGCHLD:
	default:
	}
}

// exit makes p exit now, unless it has already.
func (f *fakeSys) exit(p *fakeProc, ws exitStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exitLocked(p, ws)
}

// exitAfter makes p exit after d of fake time, unless it has by then.
func (f *fakeSys) exitAfter(p *fakeProc, d time.Duration, ws exitStatus) {
	go func() {
		time.Sleep(d)
		f.exit(p, ws)
	}()
}

func (f *fakeSys) wait() (int, syscall.WaitStatus, syscall.Rusage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.zombies) > 0 {
		pid := f.zombies[0]
		f.zombies = f.zombies[1:]
		ws := f.procs[pid].ws
		delete(f.procs, pid)
		return pid, ws, syscall.Rusage{}, nil
	}
	if len(f.procs) > 0 {
		return 0, 0, syscall.Rusage{}, nil
	}
	return -1, 0, syscall.Rusage{}, syscall.ECHILD
}

func (*fakeSys) pipe() (*os.File, *os.File, error) { return nil, nil, nil }
func (f *fakeSys) getpid() int                     { return f.pid }
func (*fakeSys) foreground() bool                  { return false }

func (f *fakeSys) setSubreaper() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subreaper = true
	return nil
}

// signal delivers sig to the supervisor, as the kernel would.
func (f *fakeSys) signal(sig syscall.Signal) {
	f.mu.Lock()
	ch := f.sigs
	f.mu.Unlock()
	ch <- sig
}

// proc is the n-th process started (0: the first).
func (f *fakeSys) proc(n int) *fakeProc {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.all[n]
}

// killsTo lists the signals sent to target (a pid, or -pgid), 0 excluded.
func (f *fakeSys) killsTo(target int) []syscall.Signal {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []syscall.Signal
	for _, k := range f.kills {
		if k.pid == target && k.sig != 0 {
			out = append(out, k.sig)
		}
	}
	return out
}

// killAt is when sig was first sent to target; the zero time if never.
func (f *fakeSys) killAt(target int, sig syscall.Signal) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.kills {
		if k.pid == target && k.sig == sig {
			return k.at
		}
	}
	return time.Time{}
}

func (f *fakeSys) received(p *fakeProc) []syscall.Signal {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]syscall.Signal(nil), p.got...)
}

func (f *fakeSys) started() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.all)
}

// harness runs a Supervisor on a fakeSys inside a synctest bubble.
type harness struct {
	t      *testing.T
	f      *fakeSys
	s      *Supervisor
	cancel context.CancelFunc
	errc   chan error
	err    error
	ended  bool
}

// startFake builds the supervisor (Argv defaults to "app") and starts Run;
// call it inside synctest.Test. It returns once everything is blocked.
func startFake(t *testing.T, f *fakeSys, cfg Config) *harness {
	t.Helper()
	if cfg.Argv == nil {
		cfg.Argv = []string{"app"}
	}
	cfg.Env = []string{}
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := newWithSys(cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	h := &harness{t: t, f: f, s: s, cancel: cancel, errc: make(chan error, 1)}
	go func() { h.errc <- s.Run(ctx) }()
	t.Cleanup(cancel)
	synctest.Wait()
	return h
}

// done reports whether Run has returned, once everything else is blocked.
func (h *harness) done() bool {
	synctest.Wait()
	if h.ended {
		return true
	}
	select {
	case h.err = <-h.errc:
		h.ended = true
	default:
	}
	return h.ended
}

// wait waits for Run to return (fake time passes meanwhile) and returns its
// error; a Run that never returns is a synctest deadlock.
func (h *harness) wait() error {
	if !h.ended {
		h.err = <-h.errc
		h.ended = true
	}
	return h.err
}

func (h *harness) state() State { synctest.Wait(); return h.s.Status().State }
