//go:build !unix

package hook

import "os/exec"

// killGroupOnCancel leaves os/exec's default, killing the command only:
// there are no process groups to kill here.
func killGroupOnCancel(*exec.Cmd) {}
