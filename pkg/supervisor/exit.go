package supervisor

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// Exit is how a child ended.
type Exit struct {
	Code   int            // its exit status; 0 when a signal killed it
	Signal syscall.Signal // the signal that killed it; 0 when it exited
}

func exitOf(ws syscall.WaitStatus) Exit {
	if ws.Signaled() {
		return Exit{Signal: ws.Signal()}
	}
	return Exit{Code: ws.ExitStatus()}
}

// ExitCode is the shell's convention, which tini, dumb-init and container
// runtimes share: the exit status, or 128+N after death by signal N.
func (e Exit) ExitCode() int {
	if e.Signal != 0 {
		return 128 + int(e.Signal)
	}
	return e.Code
}

func (e Exit) String() string {
	if e.Signal != 0 {
		return "killed by " + SignalName(e.Signal)
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// ExitError is Run's error when the child's last exit was not 0. Its
// ExitCode is the code `podkit run` exits with.
type ExitError struct{ Exit Exit }

func (e *ExitError) Error() string {
	if e.Exit.Signal != 0 {
		return "child " + e.Exit.String()
	}
	return fmt.Sprintf("child exited with status %d", e.Exit.Code)
}
func (e *ExitError) ExitCode() int { return e.Exit.ExitCode() }

// StartError is Run's error when the command could not be started. It exits
// 127 when the command was not found and 126 when it could not be executed,
// as a shell does.
type StartError struct {
	Argv0 string
	Err   error
}

func (e *StartError) Error() string { return fmt.Sprintf("start %s: %v", e.Argv0, e.Err) }
func (e *StartError) Unwrap() error { return e.Err }
func (e *StartError) ExitCode() int {
	if errors.Is(e.Err, fs.ErrPermission) || errors.Is(e.Err, syscall.ENOEXEC) || errors.Is(e.Err, syscall.EISDIR) {
		return 126
	}
	return 127
}
