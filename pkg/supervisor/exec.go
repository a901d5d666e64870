package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/podkit/podkit/internal/tail"
)

const (
	// execWaitDelay bounds the wait for a command's output after it
	// exited, in case something it started holds the pipe, as
	// exec.Cmd.WaitDelay does.
	execWaitDelay = time.Second
)

// ErrStopped is returned by Exec once Run has returned.
var ErrStopped = errors.New("supervisor: stopped")

// Exec runs argv (no shell) to completion as a child of the supervisor, in
// its own process group with stdin from /dev/null, and returns nil when it
// exits 0. When ctx ends first its process group is killed. The error carries
// the tail of its output.
//
// Run reaps every child of this process with wait4(-1), which would steal
// the exit status from os/exec: a process with a running Supervisor must
// start its other commands (hooks, exec health checks) through Exec. It
// waits for Run to start and fails with ErrStopped once Run has returned.
func (s *Supervisor) Exec(ctx context.Context, argv []string) error {
	if len(argv) == 0 || argv[0] == "" {
		return errors.New("exec: no command")
	}
	shown := argv[0]
	path, err := s.sys.lookPath(argv[0])
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			err = ee.Err // it repeats the name
		}
		return fmt.Errorf("exec %s: %w", shown, err)
	}
	r, w, err := s.sys.pipe()
	if err != nil {
		return fmt.Errorf("exec %s: %w", shown, err)
	}
	var out tail.Buffer
	copied := make(chan struct{})
	if r != nil {
		go func() {
			defer close(copied)
			_, _ = io.Copy(&out, r)
		}()
	} else {
		close(copied)
	}
	closeOutput := func(wait bool) {
		if r == nil {
			return
		}
		if wait {
			t := time.NewTimer(execWaitDelay)
			select {
			case <-copied:
			case <-t.C:
			}
			t.Stop()
		}
		_ = r.Close() // ends the copy if something still holds the pipe
		<-copied
	}

	reply := make(chan startReply, 1)
	req := &startReq{path: path, argv: argv, files: [3]*os.File{nil, w, w}, reply: reply}
	select {
	case s.reqs <- request{start: req}:
	case <-s.done:
		err = ErrStopped
	case <-ctx.Done():
		err = ctx.Err()
	}
	var rep startReply
	if err == nil {
		rep = <-reply
		err = rep.err
	}
	if w != nil {
		_ = w.Close()
	}
	if err != nil {
		closeOutput(false)
		return fmt.Errorf("exec %s: %w", shown, err)
	}

	var ws syscall.WaitStatus
	var ok bool
	select {
	case ws, ok = <-rep.exit:
	case <-ctx.Done():
		// The loop kills, and only while the command is unreaped: here its
		// pid could already be free, and reused by another group leader.
		select {
		case s.reqs <- request{killExec: rep.pid}:
		case <-s.done: // Run ended: failWaiters killed it
		}
		<-rep.exit // reaped: the group is gone
		closeOutput(true)
		return fmt.Errorf("exec %s: %w, process group killed%s", shown, ctx.Err(), out.Suffix())
	}
	closeOutput(true)
	if !ok {
		return fmt.Errorf("exec %s: %w", shown, ErrStopped)
	}
	if ws.Exited() && ws.ExitStatus() == 0 {
		return nil
	}
	return fmt.Errorf("exec %s: %s%s", shown, exitOf(ws).String(), out.Suffix())
}
