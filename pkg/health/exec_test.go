package health

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/tail"
)

func execProbe(t *testing.T, cmd string, timeout time.Duration) error {
	t.Helper()
	p, err := newProber("exec:"+cmd, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	return p.probe(ctx)
}

func TestExecProbe(t *testing.T) {
	script := filepath.Join(t.TempDir(), "loud")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho begin-marker\nyes 0123456789 | head -c 5000\necho boom >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cmd  string
		err  string // "" healthy
		want []string
	}{
		{"true", "", nil},
		{"  true   extra args  ", "", nil},
		{"false", "exec false: exit status 1", nil},
		{"sh -c exit_7_is_not_a_command", "exit status 127", []string{"not found"}},
		{script, "exit status 3: …", []string{"boom", "0123456789"}},
		{"no-such-command-podkit", "executable file not found", nil},
		{"sleep 60", "timed out, process group killed", nil},
	} {
		start := time.Now()
		err := execProbe(t, tc.cmd, 300*time.Millisecond)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("exec %s took %s: the timeout did not stop it", tc.cmd, took)
		}
		if tc.err == "" {
			if err != nil {
				t.Errorf("exec %s = %v, want healthy", tc.cmd, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("exec %s = %v, want %q", tc.cmd, err, tc.err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("exec %s = %v, want it to contain %q", tc.cmd, err, w)
			}
		}
		if strings.Contains(err.Error(), "begin-marker") || len(err.Error()) > tail.Limit+200 {
			t.Errorf("exec %s: output not bounded to its tail: %d bytes", tc.cmd, len(err.Error()))
		}
	}
}

// The timeout kills the whole process group: a grandchild the command
// started in the background does not outlive the probe.
func TestExecTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	script := filepath.Join(dir, "spawn")
	body := "#!/bin/sh\nsleep 61 &\necho $! > " + pidFile + "\nwait\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := execProbe(t, script, 500*time.Millisecond); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("probe = %v, want a timeout", err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The grandchild was reparented when its shell died; it is dead (gone,
	// or a zombie until whoever adopted it reaps it).
	deadline := time.Now().Add(5 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("background sleep %d still running after the probe timed out", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == syscall.ESRCH
	}
	// The state follows the parenthesised command name.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2] == 'Z'
	}
	return false
}
