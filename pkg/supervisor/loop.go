package supervisor

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// drainBound bounds the wait for the rest of the child's process group to
// die and be reaped after the child exited and the group got SIGKILL.
const drainBound = time.Second

// loop is Run's state. One goroutine owns it, so it needs no locks: it
// reacts to SIGCHLD (reap), other signals (forward; SIGTERM is a stop
// request), requests (HTTP API, Exec), timers (grace period, restart
// backoff, drain) and finished hooks. Waiting on wait4 from here, and only
// here, is what lets it reap every orphan without racing anyone.
type loop struct {
	s   *Supervisor
	log *slog.Logger
	ctx context.Context

	chld, sigs <-chan os.Signal
	fg         bool
	cap        capture

	pid, pgid int // the child; 0 when none runs
	gen       int // starts so far
	started   time.Time
	last      *Exit
	restarts  int
	delay     time.Duration // the last restart delay; 0 before any
	reaper    bool          // orphans come to us: PID 1 or a subreaper

	stopping  bool
	stopSent  bool
	noRestart bool
	final     bool  // the child exited for good
	fatal     error // a restart failed to start

	grace, restartAt, drain timer

	hookDone     chan hookResult
	hooksRunning int
	drainPgid    int
	waiters      map[int]chan syscall.WaitStatus
}

func newLoop(s *Supervisor) *loop {
	return &loop{
		s:        s,
		log:      s.log,
		hookDone: make(chan hookResult, 2),
		waiters:  map[int]chan syscall.WaitStatus{},
	}
}

func (l *loop) run(ctx context.Context) error {
	s := l.s
	l.ctx = ctx
	if ctx.Err() != nil {
		s.setStatus(func(st *Status) { st.State = StateExited })
		return nil
	}
	l.reaper = s.sys.getpid() == 1
	if !l.reaper && !s.cfg.NoSubreaper {
		if err := s.sys.setSubreaper(); err != nil {
			l.log.Warn("cannot become a child subreaper: orphans of the child go to init", "err", err)
		} else {
			l.reaper = true
		}
	}
	sigs := s.cfg.Signals
	if sigs == nil || sigs.ready == nil { // nil, or not made by Subscribe
		sigs = subscribe(s.sys)
		defer sigs.Stop()
	}
	l.chld, l.sigs = sigs.chld, sigs.other
	if err := l.cap.open(s); err != nil {
		return err
	}
	defer l.cap.close()
	l.fg = s.sys.foreground()
	// Subscribed before the child exists, so no SIGCHLD or SIGTERM is lost.
	<-sigs.ready
	if err := l.start(); err != nil {
		s.setStatus(func(st *Status) { st.State = StateExited })
		return err
	}
	defer func() {
		l.grace.stop()
		l.restartAt.stop()
		l.drain.stop()
	}()

	ctxDone := ctx.Done()
	for !l.finished() {
		select {
		case <-l.chld:
			l.reap()
		case sig := <-l.sigs:
			if sig, ok := sig.(syscall.Signal); ok {
				l.onSignal(sig)
			}
		case r := <-s.reqs:
			l.onRequest(r)
		case <-ctxDone:
			ctxDone = nil
			l.stop("shutdown")
		case h := <-l.hookDone:
			l.onHookDone(h)
		case <-l.grace.C:
			l.grace.stop()
			l.escalate()
		case <-l.restartAt.C:
			l.restartAt.stop()
			l.restart()
		case <-l.drain.C:
			l.drain.stop()
			l.log.Debug("process group still not empty; giving up waiting", "pgid", l.drainPgid, "waited", drainBound.String())
			l.drainPgid = 0
		}
	}
	l.failWaiters()
	if l.fatal != nil {
		return l.fatal
	}
	if l.last == nil || l.last.ExitCode() == 0 {
		return nil
	}
	return &ExitError{Exit: *l.last}
}

func (l *loop) finished() bool { return l.final && l.hooksRunning == 0 && l.drainPgid == 0 }

// timer is a one-shot timer whose C is nil (blocks in select) when unset.
type timer struct {
	t *time.Timer
	C <-chan time.Time
}

func (t *timer) set(d time.Duration) {
	t.stop()
	t.t = time.NewTimer(d)
	t.C = t.t.C
}

func (t *timer) stop() {
	if t.t != nil {
		t.t.Stop()
	}
	t.t, t.C = nil, nil
}

func (t *timer) active() bool { return t.t != nil }

func (l *loop) start() error {
	s := l.s
	argv0 := s.cfg.Argv[0]
	path, err := s.sys.lookPath(argv0)
	pid := 0
	if err == nil {
		pid, err = s.sys.start(path, s.cfg.Argv, s.cfg.Env, [3]*os.File{stdioInherit, l.cap.w[0], l.cap.w[1]}, l.fg)
	}
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			err = ee.Err
		}
		return &StartError{Argv0: argv0, Err: err}
	}
	l.pid, l.pgid = pid, pid
	l.gen++
	l.started = time.Now()
	state := StateRunning
	if !s.cfg.PostStart.IsZero() {
		state = StateStarting
	}
	s.setStatus(func(st *Status) {
		st.State, st.PID, st.StartedAt, st.NextRestart = state, pid, l.started, time.Time{}
	})
	l.log.Info("child started", "pid", pid, "command", argv0, "restarts", l.restarts)
	if !s.cfg.PostStart.IsZero() {
		l.goHook(hookPostStart, s.cfg.PostStart)
	}
	return nil
}

func (l *loop) goHook(name string, h Hook) {
	l.hooksRunning++
	gen := l.gen
	go func() { l.hookDone <- l.s.runHook(l.ctx, name, gen, h) }()
}

func (l *loop) onHookDone(h hookResult) {
	l.hooksRunning--
	switch h.name {
	case hookPostStart:
		if h.gen == l.gen && l.pid != 0 && !l.stopping {
			l.s.setStatus(func(st *Status) { st.State = StateRunning })
		}
	case hookPreStop:
		if l.pid != 0 {
			l.sendStop()
		}
	}
}

// reap collects every exited child: the main one, Exec's, and orphans.
func (l *loop) reap() {
	for {
		pid, ws, ru, err := l.s.sys.wait()
		if err != nil || pid <= 0 {
			break
		}
		switch ch, ok := l.waiters[pid]; {
		case pid == l.pid:
			l.childExited(ws, ru)
		case ok:
			ch <- ws
			close(ch)
			delete(l.waiters, pid)
		default:
			l.s.m.orphans.Inc()
			l.log.Debug("reaped orphan", "pid", pid, "status", exitOf(ws).String())
		}
	}
	if l.drainPgid != 0 && l.s.sys.kill(-l.drainPgid, 0) != nil {
		l.drainPgid = 0
		l.drain.stop()
	}
}

func (l *loop) childExited(ws syscall.WaitStatus, ru syscall.Rusage) {
	s := l.s
	e := exitOf(ws)
	now := time.Now()
	ran := now.Sub(l.started)
	pid := l.pid
	l.pid, l.last = 0, &e
	l.grace.stop()
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	s.mu.Lock()
	s.cpuPast += cpu
	s.st.PID, s.st.LastExit, s.st.LastExitAt, s.st.LastRan = 0, &e, now, ran
	s.mu.Unlock()
	s.m.exit(e)
	l.log.Info("child exited", "pid", pid, "status", e.String(), "ran", ran.Round(time.Millisecond).String())

	// What it left in its process group would outlive it. When a
	// container's PID 1 exits the kernel kills everything left; do the
	// same, and reap them before returning.
	if s.sys.kill(-l.pgid, 0) == nil {
		_ = s.sys.kill(-l.pgid, syscall.SIGKILL)
		if l.reaper {
			l.drainPgid = l.pgid
			l.drain.set(drainBound)
		}
	}

	if l.wantRestart(e) {
		l.delay = nextBackoff(l.delay, s.cfg.RestartBackoff, s.cfg.RestartBackoffMax, ran)
		next := now.Add(l.delay)
		l.restartAt.set(l.delay)
		s.setStatus(func(st *Status) { st.State, st.NextRestart = StateBackoff, next })
		l.log.Warn("restarting child", "in", l.delay.String(), "restart", l.restarts+1, "after", e.String())
		return
	}
	l.final = true
	s.setStatus(func(st *Status) { st.State = StateExited })
}

func (l *loop) wantRestart(e Exit) bool {
	cfg := l.s.cfg
	if l.stopping || l.noRestart {
		return false
	}
	switch {
	case cfg.Restart == RestartAlways:
	case cfg.Restart == RestartOnFailure && e.ExitCode() != 0:
	default:
		return false
	}
	if cfg.MaxRestarts > 0 && l.restarts >= cfg.MaxRestarts {
		l.log.Warn("not restarting: --max-restarts reached", "max_restarts", cfg.MaxRestarts)
		return false
	}
	return true
}

func (l *loop) restart() {
	// The last child's unfinished last line is its own: after the backoff
	// its bytes have long been pumped, so end it before the next child
	// writes to the same pipes.
	if l.s.logs != nil {
		l.s.logs.flush(stdout)
		l.s.logs.flush(stderr)
	}
	l.restarts++
	l.s.m.restarts.Inc()
	l.s.setStatus(func(st *Status) { st.Restarts = l.restarts })
	if err := l.start(); err != nil {
		l.log.Error("restart failed", "err", err)
		l.fatal, l.final = err, true
		l.s.setStatus(func(st *Status) { st.State = StateExited })
	}
}

// cancelRestart ends a scheduled restart: the last exit is the final one.
func (l *loop) cancelRestart() {
	if !l.restartAt.active() {
		return
	}
	l.restartAt.stop()
	l.final = true
	l.s.setStatus(func(st *Status) { st.State, st.NextRestart = StateExited, time.Time{} })
}

// stop runs the graceful stop once: pre-stop hook, stop signal, grace
// period (then escalate). Later requests do not restart it.
func (l *loop) stop(cause string) {
	if l.stopping {
		l.log.Debug("stop already under way", "cause", cause)
		return
	}
	l.stopping, l.noRestart = true, true
	s := l.s
	s.setStatus(func(st *Status) { st.StopCause = cause })
	l.cancelRestart()
	if l.pid == 0 {
		return
	}
	l.log.Info("stopping child", "cause", cause, "pid", l.pid)
	s.setStatus(func(st *Status) { st.State = StateStopping })
	if !s.cfg.PreStop.IsZero() {
		l.goHook(hookPreStop, s.cfg.PreStop)
		return
	}
	l.sendStop()
}

func (l *loop) sendStop() {
	l.stopSent = true
	l.signalChild(l.s.cfg.StopSignal)
	l.grace.set(l.s.cfg.GracePeriod)
}

func (l *loop) escalate() {
	if l.pid == 0 {
		return
	}
	l.log.Warn("grace period over: killing the child's process group", "pid", l.pid, "grace_period", l.s.cfg.GracePeriod.String())
	l.s.m.escalations.Inc()
	_ = l.s.sys.kill(-l.pgid, syscall.SIGKILL)
	_ = l.s.sys.kill(l.pid, syscall.SIGKILL) // in case it left its group
}

func (l *loop) onSignal(sig syscall.Signal) {
	switch {
	case sig == syscall.SIGTERM && !l.stopping:
		l.stop("signal SIGTERM")
	case sig == syscall.SIGTERM && !l.stopSent:
		// The pre-stop hook runs; the stop signal follows it.
		l.log.Debug("SIGTERM during the pre-stop hook: not forwarded")
	case notForwarded[sig]:
		l.log.Debug("signal not forwarded", "signal", SignalName(sig))
	default:
		if sig == syscall.SIGINT {
			// Ctrl-C without a terminal (docker attach): end a restart loop.
			l.noRestart = true
			l.cancelRestart()
		}
		if l.pid == 0 {
			l.log.Debug("no child to forward to", "signal", SignalName(sig))
			return
		}
		l.signalChild(sig)
	}
}

func (l *loop) signalChild(sig syscall.Signal) error {
	target := l.pid
	if l.s.cfg.SignalGroup {
		target = -l.pgid
	}
	err := l.s.sys.kill(target, sig)
	l.s.m.forwarded.WithLabelValues(SignalName(sig)).Inc()
	l.log.Debug("signal sent", "signal", SignalName(sig), "to", target, "err", err)
	return err
}

func (l *loop) onRequest(r request) {
	switch {
	case r.stop != "":
		l.stop(r.stop)
	case r.signal != nil:
		if l.pid == 0 {
			r.signal.reply <- signalReply{err: ErrNoChild}
			return
		}
		err := l.signalChild(r.signal.sig)
		r.signal.reply <- signalReply{pid: l.pid, err: err}
	case r.killExec != 0:
		if _, running := l.waiters[r.killExec]; running {
			_ = l.s.sys.kill(-r.killExec, syscall.SIGKILL)
		}
	case r.start != nil:
		pid, err := l.s.sys.start(r.start.path, r.start.argv, l.s.cfg.Env, r.start.files, false)
		if err != nil {
			r.start.reply <- startReply{err: err}
			return
		}
		ch := make(chan syscall.WaitStatus, 1)
		l.waiters[pid] = ch
		r.start.reply <- startReply{pid: pid, exit: ch}
	}
}

// failWaiters ends Exec calls still waiting when Run returns: their
// commands are killed and nobody will reap them any more.
func (l *loop) failWaiters() {
	for pid, ch := range l.waiters {
		_ = l.s.sys.kill(-pid, syscall.SIGKILL)
		close(ch)
	}
	l.waiters = nil
}

// nextBackoff is the delay before the next restart: initial at first and
// after a child that ran at least backoffReset, else twice the last one,
// capped at max.
func nextBackoff(last, initial, max, ran time.Duration) time.Duration {
	if last == 0 || ran >= backoffReset {
		return initial
	}
	return min(2*last, max)
}
