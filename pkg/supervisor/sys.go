package supervisor

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"unsafe"
)

// sys is every process operation the supervisor makes, so the state machine
// can be tested with fake processes and fake time (testing/synctest).
type sys interface {
	// notify subscribes chld to SIGCHLD and sigs to urgentSignals (urgent)
	// or to the other forwarded signals (!urgent).
	notify(chld, sigs chan<- os.Signal, urgent bool)
	stopNotify(chld, sigs chan<- os.Signal)
	lookPath(name string) (string, error)
	// start forks and execs path in a new process group. files are the
	// child's fds 0, 1, 2: nil is /dev/null, stdioInherit this process's own.
	start(path string, argv, env []string, files [3]*os.File, foreground bool) (int, error)
	kill(pid int, sig syscall.Signal) error
	// wait reaps one exited child without blocking: pid 0 when children
	// remain but none has exited, ECHILD when there are none.
	wait() (pid int, ws syscall.WaitStatus, ru syscall.Rusage, err error)
	pipe() (r, w *os.File, err error)
	getpid() int
	setSubreaper() error
	// foreground reports whether stdin is a terminal whose foreground
	// process group is ours: then the child gets the terminal, as with tini.
	foreground() bool
}

// stdioInherit marks a child fd that is this process's own fd of that
// number; it is compared by address only.
var stdioInherit = new(os.File)

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER (linux/prctl.h), missing
// from package syscall on some architectures.
const prSetChildSubreaper = 36

type realSys struct {
	once    sync.Once
	devnull *os.File
	err     error
}

func (*realSys) notify(chld, sigs chan<- os.Signal, urgent bool) {
	if !urgent {
		signal.Notify(sigs, laterSignals()...)
		return
	}
	signal.Notify(chld, syscall.SIGCHLD)
	all := make([]os.Signal, len(urgentSignals))
	for i, s := range urgentSignals {
		all[i] = s
	}
	signal.Notify(sigs, all...)
}

func (*realSys) stopNotify(chld, sigs chan<- os.Signal) {
	signal.Stop(chld)
	signal.Stop(sigs)
}

func (*realSys) lookPath(name string) (string, error) { return exec.LookPath(name) }

func (r *realSys) start(path string, argv, env []string, files [3]*os.File, fg bool) (int, error) {
	var fds [3]uintptr
	for i, f := range files {
		switch f {
		case stdioInherit:
			fds[i] = uintptr(i)
		case nil:
			r.once.Do(func() { r.devnull, r.err = os.Open(os.DevNull) })
			if r.err != nil {
				return 0, r.err
			}
			fds[i] = r.devnull.Fd()
		default:
			// Fd puts the file in blocking mode, which the child expects of
			// its stdio; our end of the pipe is a different file.
			fds[i] = f.Fd()
		}
	}
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: fds[:],
		// The child leads its own process group: group signals and the
		// final SIGKILL reach everything it started, and nothing else.
		// Foreground also makes that group the terminal's foreground
		// (tcsetpgrp), done in the child before exec with signals blocked,
		// so no SIGTTOU stops it.
		Sys: &syscall.SysProcAttr{Setpgid: true, Foreground: fg, Ctty: 0},
	}
	return syscall.ForkExec(path, argv, attr)
}

func (*realSys) kill(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }

func (*realSys) wait() (int, syscall.WaitStatus, syscall.Rusage, error) {
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, &ru)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		return pid, ws, ru, err
	}
}

func (*realSys) pipe() (*os.File, *os.File, error) { return os.Pipe() }

func (*realSys) getpid() int { return os.Getpid() }

func (*realSys) setSubreaper() error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		return errno
	}
	return nil
}

func (*realSys) foreground() bool {
	var pgrp int32
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, 0, syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&pgrp)))
	return errno == 0 && int(pgrp) == syscall.Getpgrp()
}
