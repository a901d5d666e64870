package hook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"time"
)

// Exec is git-sync's --exechook-*: a command run per new hash.
type Exec struct {
	// Command is run as given: no shell, no arguments. A relative path with
	// a slash is taken relative to the worktree, as in git-sync.
	Command string
	Timeout time.Duration // 0: DefaultExecTimeout
	Env     []string      // KEY=VALUE added to the process's environment
	Logger  *slog.Logger  // nil: slog.Default(); gets the output of successful runs at Debug
}

var _ Runner = (*Exec)(nil)

// maxOutput bounds the output kept per run: a hook that prints without end
// must not grow the sidecar's memory.
const maxOutput = 64 << 10

// waitDelay bounds the wait for the output pipes once the command has
// exited or been killed: a grandchild that left the process group (setsid)
// or was started in the background may hold them open for ever.
const waitDelay = 2 * time.Second

// Name implements Runner.
func (e *Exec) Name() string { return "exechook" }

// Run runs Command in dir with GITSYNC_HASH=hash. On timeout or when ctx
// ends, the command's whole process group is killed.
func (e *Exec) Run(ctx context.Context, hash, dir string) error {
	timeout := cmp.Or(e.Timeout, DefaultExecTimeout)
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, e.Command)
	cmd.Dir = dir
	// Later entries win in os/exec, so GITSYNC_HASH cannot be overridden.
	cmd.Env = append(append(os.Environ(), e.Env...), "GITSYNC_HASH="+hash)
	out := &tailBuffer{max: maxOutput}
	cmd.Stdout, cmd.Stderr = out, out // one writer: os/exec then calls it from one goroutine
	killGroupOnCancel(cmd)
	cmd.WaitDelay = waitDelay
	start := time.Now()
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		// The command itself succeeded; only a straggler kept the pipes.
		err = nil
	}
	switch {
	case err == nil:
		e.logger().Debug("exechook output", "hash", hash, "duration", time.Since(start), "output", out.String())
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("exechook %s: %w", e.Command, context.Cause(ctx))
	case runCtx.Err() != nil:
		return fmt.Errorf("exechook %s: timed out after %s, process group killed; output: %s", e.Command, timeout, out)
	default:
		return fmt.Errorf("exechook %s: %w; output: %s", e.Command, err, out)
	}
}

func (e *Exec) logger() *slog.Logger { return cmp.Or(e.Logger, slog.Default()) }
