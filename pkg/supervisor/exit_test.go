package supervisor

import (
	"strings"
	"syscall"
	"testing"
)

func TestExit(t *testing.T) {
	for _, tc := range []struct {
		ws   syscall.WaitStatus
		code int
		str  string
	}{
		{exited(0), 0, "exit status 0"},
		{exited(3), 3, "exit status 3"},
		{exited(255), 255, "exit status 255"},
		{killed(syscall.SIGKILL), 137, "killed by SIGKILL"},
		{killed(syscall.SIGTERM), 143, "killed by SIGTERM"},
		{killed(40), 168, "killed by SIGRTMIN+6"},
	} {
		e := exitOf(tc.ws)
		if e.ExitCode() != tc.code || e.String() != tc.str {
			t.Errorf("exitOf(%#x) = %d %q, want %d %q", int(tc.ws), e.ExitCode(), e, tc.code, tc.str)
		}
		ee := &ExitError{Exit: e}
		if ee.ExitCode() != tc.code || !strings.HasPrefix(ee.Error(), "child ") {
			t.Errorf("ExitError %q exits %d", ee, ee.ExitCode())
		}
	}
}
