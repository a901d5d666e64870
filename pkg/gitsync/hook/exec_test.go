//go:build linux

package hook

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// script writes an executable shell script into a new temp dir.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hook.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExecRunsInWorktreeWithHash(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	cmd := script(t, `printf '%s\n%s\n%s\n' "$(pwd -P)" "$GITSYNC_HASH" "$EXTRA" > "$OUT"`)
	wt := t.TempDir()
	e := &Exec{Command: cmd, Timeout: time.Minute, Env: []string{"OUT=" + out, "EXTRA=x", "GITSYNC_HASH=not-this"}}
	if err := e.Run(t.Context(), "0123abc", wt); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	wtReal, _ := filepath.EvalSymlinks(wt)
	if got, want := string(b), wtReal+"\n0123abc\nx\n"; got != want {
		t.Fatalf("hook saw (dir, hash, extra) %q, want %q", got, want)
	}
}

func TestExecFailureRetried(t *testing.T) {
	count := filepath.Join(t.TempDir(), "count")
	// Fails on the first two runs, succeeds on the third.
	cmd := script(t, `n=$(cat "$COUNT" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$COUNT"
echo "attempt $n"; [ $n -ge 3 ]`)
	m, _ := NewMetrics(nil)
	q := NewQueue(&Exec{Command: cmd, Env: []string{"COUNT=" + count}}, 1, testLogger(t, nil), m)
	runQueue(t, q)
	q.Send("h1", t.TempDir())
	eventually(t, "h1 run", func() bool { return q.LastHash() == "h1" })
	if b, _ := os.ReadFile(count); strings.TrimSpace(string(b)) != "3" {
		t.Fatalf("ran %q times, want 3", b)
	}
	ok := testutil.ToFloat64(m.runs.WithLabelValues("exechook", "success"))
	failed := testutil.ToFloat64(m.runs.WithLabelValues("exechook", "error"))
	if ok != 1 || failed != 2 {
		t.Fatalf("runs success=%v error=%v, want 1, 2", ok, failed)
	}
}

func TestExecFailureKeepsOutputTail(t *testing.T) {
	cmd := script(t, `head -c 300000 /dev/zero | tr '\0' x; echo; echo "the reason" >&2; exit 3`)
	err := (&Exec{Command: cmd}).Run(t.Context(), "h", t.TempDir())
	if err == nil {
		t.Fatal("exit 3 succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"exit status 3", "the reason", "earlier bytes dropped"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q", want)
		}
	}
	if len(msg) > maxOutput+1024 {
		t.Errorf("error is %d bytes, want output bounded to %d", len(msg), maxOutput)
	}
}

func TestExecTimeoutKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The child outlives the script unless the whole group is killed.
	cmd := script(t, `sleep 1000 &
echo $! > "$PIDFILE.tmp" && mv "$PIDFILE.tmp" "$PIDFILE"
wait`)
	// The timeout must outlast the script's start to test anything; grow it
	// until the child was seen rather than guess a duration.
	var err error
	for timeout := 50 * time.Millisecond; ; timeout *= 2 {
		if timeout > time.Minute {
			t.Fatal("the script never started its child")
		}
		e := &Exec{Command: cmd, Timeout: timeout, Env: []string{"PIDFILE=" + pidFile}}
		err = e.Run(t.Context(), "h", t.TempDir())
		if _, statErr := os.Stat(pidFile); statErr == nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	b, _ := os.ReadFile(pidFile)
	pid, convErr := strconv.Atoi(strings.TrimSpace(string(b)))
	if convErr != nil {
		t.Fatal(convErr)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) }) // if the test fails
	eventually(t, "child "+strconv.Itoa(pid)+" dead", func() bool { return !alive(pid) })
}

// alive reports whether pid runs. A zombie counts as dead: once killed, the
// orphaned child waits for a pid 1 that may never reap it.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	// Fields after the command name, which is in parentheses: state first.
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || (b[i+2] != 'Z' && b[i+2] != 'X')
}

func TestExecMissingCommand(t *testing.T) {
	err := (&Exec{Command: filepath.Join(t.TempDir(), "nope")}).Run(t.Context(), "h", t.TempDir())
	if err == nil {
		t.Fatal("a missing command succeeded")
	}
}
