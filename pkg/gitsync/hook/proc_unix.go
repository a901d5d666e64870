//go:build unix

package hook

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// killGroupOnCancel puts cmd in a process group of its own and makes the
// context's cancellation kill the whole group: killing only the command,
// as os/exec does, leaves a hook script's children (a sleep, a curl)
// running and holding its output pipes.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
}
