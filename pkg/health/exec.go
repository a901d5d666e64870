package health

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/podkit/podkit/internal/tail"
)

const (
	// execWaitDelay bounds the wait for output pipes after the kill, in case
	// a grandchild escaped the process group while holding them.
	execWaitDelay = time.Second
)

type execProber struct {
	argv  []string
	shown string
}

// newExecProber takes "COMMAND ARGS…" split on spaces: there is no shell
// (the podkit image has none), so no quoting, globbing or pipes.
func newExecProber(rest string) (prober, error) {
	argv := strings.Fields(rest)
	if len(argv) == 0 {
		return prober{}, fmt.Errorf("%w: want exec:COMMAND ARGS", ErrBadTarget)
	}
	p := &execProber{argv: argv, shown: redactArg(argv[0])}
	return prober{probe: p.probe}, nil
}

// probe runs the command in its own process group and kills the whole group
// when ctx ends (timeout or shutdown), so nothing it started outlives it.
// Exit 0 is healthy, as for a Kubernetes exec probe.
func (p *execProber) probe(ctx context.Context) error {
	var out tail.Buffer
	cmd := exec.CommandContext(ctx, p.argv[0], p.argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = execWaitDelay
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return fmt.Errorf("exec %s: timed out, process group killed%s", p.shown, out.Suffix())
		}
		return fmt.Errorf("exec %s: %w", p.shown, ctxErr)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("exec %s: %s%s", p.shown, ee.ProcessState.String(), out.Suffix())
	}
	return fmt.Errorf("exec %s: %w", p.shown, unwrapExecError(err))
}

// unwrapExecError keeps exec.Error's message (it names the command, which
// is argv[0] and not secret) but drops the path *os.PathError repeats.
func unwrapExecError(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}
