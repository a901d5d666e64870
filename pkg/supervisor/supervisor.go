// Package supervisor is an init and supervisor for a container's main
// process: the "downward" half of the single-container management pattern
// (Burns & Oppenheimer 2016, section 3). It replaces tini and dumb-init and
// adds what they lack: graceful termination with hooks and escalation to
// SIGKILL, restarts, and an "upward" management API describing the child
// (lifecycle, logs, config, /proc metrics).
//
// As PID 1 (or a child subreaper otherwise, by default) it forwards every
// catchable signal to the child (real-time ones included) except SIGCHLD,
// SIGURG, SIGPROF, SIGPIPE, SIGTTIN, SIGTTOU and the synchronous fault
// signals; it reaps every zombie;
// and Run's error carries the child's exit code, 128+N after death by signal
// N. SIGTERM is a stop request: pre-stop hook, stop signal, grace period,
// SIGKILL of the child's process group.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// State is where the child is in its lifecycle.
type State string

// Lifecycle states, as /lifecycle reports them.
const (
	StateStarting State = "starting" // not started yet, or its post-start hook is running
	StateRunning  State = "running"
	StateStopping State = "stopping" // a stop was requested: pre-stop hook, stop signal, grace period
	StateBackoff  State = "backoff"  // exited; a restart is scheduled
	StateExited   State = "exited"   // exited for good
)

// Status is a snapshot of the lifecycle.
type Status struct {
	State       State
	PID         int // 0 when no child runs
	StartedAt   time.Time
	Restarts    int
	LastExit    *Exit
	LastExitAt  time.Time
	LastRan     time.Duration // how long the last exited child ran
	NextRestart time.Time     // in StateBackoff
	StopCause   string        // what asked for the stop, once one was asked for
}

// Supervisor runs one child process. Build it with New, mount its pages on
// the admin server, then Run it.
type Supervisor struct {
	cfg  Config
	log  *slog.Logger
	sys  sys
	m    *metrics
	logs *ring // nil with NoCapture

	reqs    chan request
	done    chan struct{} // closed when Run's loop has ended
	running atomic.Bool

	mu      sync.Mutex
	st      Status
	cpuPast time.Duration // CPU time of children that exited, from wait4's rusage
}

// New validates cfg and builds the supervisor; it does no I/O and starts
// nothing. Errors are *ConfigError.
func New(cfg Config) (*Supervisor, error) { return newWithSys(cfg, &realSys{}) }

func newWithSys(cfg Config, sy sys) (*Supervisor, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	s := &Supervisor{
		cfg:  cfg,
		log:  cfg.Logger,
		sys:  sy,
		reqs: make(chan request),
		done: make(chan struct{}),
		st:   Status{State: StateStarting},
	}
	if !cfg.NoCapture {
		s.logs = newRing(cfg.LogBufferBytes)
		if s.cfg.Stdout == nil {
			s.cfg.Stdout = os.Stdout
		}
		if s.cfg.Stderr == nil {
			s.cfg.Stderr = os.Stderr
		}
	}
	if s.m, err = newMetrics(cfg.Registry, s); err != nil {
		return nil, fmt.Errorf("supervisor: metrics: %w", err)
	}
	return s, nil
}

// Name identifies the component in logs and /readyz.
func (s *Supervisor) Name() string { return "supervisor" }

// Ready is nil while the child runs and its post-start hook is done.
func (s *Supervisor) Ready() error {
	st := s.Status()
	switch st.State {
	case StateRunning:
		return nil
	case StateStarting:
		if st.PID != 0 {
			return errors.New("starting: post-start hook running")
		}
		return errors.New("starting")
	case StateBackoff:
		return fmt.Errorf("backoff: child %s; restart %d in %s", st.LastExit, st.Restarts+1,
			time.Until(st.NextRestart).Round(time.Millisecond))
	case StateExited:
		return fmt.Errorf("exited: child %s", st.LastExit)
	default:
		return errors.New(string(st.State))
	}
}

// Status reports the lifecycle now.
func (s *Supervisor) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *Supervisor) setStatus(f func(*Status)) {
	s.mu.Lock()
	f(&s.st)
	s.mu.Unlock()
}

// Stop asks for the graceful stop, as SIGTERM does: pre-stop hook, stop
// signal, grace period, SIGKILL. It returns at once; a stop already under
// way is not restarted. cause is reported as /lifecycle's stop_cause.
func (s *Supervisor) Stop(ctx context.Context, cause string) error {
	if cause == "" {
		cause = "Stop" // an empty cause would read as no stop request at all
	}
	return s.request(ctx, request{stop: cause})
}

// Signal sends sig to the child (its process group with SignalGroup) and
// nothing else: SIGTERM sent this way is not a stop request, and SIGINT does
// not end restarts. It fails with ErrNoChild when no child runs.
func (s *Supervisor) Signal(ctx context.Context, sig syscall.Signal) (pid int, err error) {
	reply := make(chan signalReply, 1)
	if err := s.request(ctx, request{signal: &signalReq{sig: sig, reply: reply}}); err != nil {
		return 0, err
	}
	r := <-reply
	return r.pid, r.err
}

func (s *Supervisor) request(ctx context.Context, r request) error {
	select {
	case s.reqs <- r:
		return nil
	case <-s.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ErrNoChild is Signal's error when no child runs.
var ErrNoChild = errors.New("no child running")

type request struct {
	stop   string // a stop request's cause; "" for other requests
	signal *signalReq
	start  *startReq
	// killExec is an Exec'd command whose process group to SIGKILL if it
	// has not been reaped yet.
	killExec int
}

type signalReq struct {
	sig   syscall.Signal
	reply chan<- signalReply
}

type signalReply struct {
	pid int
	err error
}

type startReq struct {
	path  string
	argv  []string
	files [3]*os.File
	reply chan<- startReply
}

type startReply struct {
	pid  int
	exit <-chan syscall.WaitStatus // closed without a value if Run ends first
	err  error
}

// Run starts the child and supervises it until it has exited for good (the
// restart policy said no more, or a stop was requested), then returns nil
// for exit status 0 and an *ExitError otherwise; a command that cannot be
// started is a *StartError. When ctx ends, Run stops the child gracefully,
// as for SIGTERM. Run subscribes to signals for its duration and reaps every
// child of the process (see Exec).
func (s *Supervisor) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("supervisor: Run called twice")
	}
	defer close(s.done)
	l := newLoop(s)
	return l.run(ctx)
}
