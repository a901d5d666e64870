package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/clitest"
	"github.com/podkit/podkit/internal/logtest"
)

// The guarantee, on the real binary: lines are written and rotated
// while logsaver is killed with SIGKILL twice and restarted with the same
// state; every line arrives, repeats come only from batches in flight.
func TestLogsaverSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	rc := logtest.NewReceiver()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	path := filepath.Join(dir, "app.log")
	args := []string{"--path", path + "*", "--state-dir", filepath.Join(dir, "state"), "--sink", srv.URL,
		"--batch-bytes", "64KiB", "--batch-wait", "20ms", "--poll-interval", "50ms", "--rotate-wait", "500ms"}
	const lines = 60000
	w, err := logtest.NewWriter(logtest.WriterConfig{Path: path, Lines: lines, Rate: 30000, Rotate: logtest.RotateRename, EveryLines: 7000, Keep: 20})
	if err != nil {
		t.Fatal(err)
	}
	wdone := make(chan error, 1)
	go func() { wdone <- w.Run(context.Background()) }()
	for i := range 2 {
		p := clitest.Start(t, clitest.Options{}, "logsaver", args...)
		p.WaitReady()
		time.Sleep(time.Duration(300+200*i) * time.Millisecond)
		p.Signal(syscall.SIGKILL)
		p.Wait()
	}
	if err := <-wdone; err != nil {
		t.Fatal(err)
	}
	p := clitest.Start(t, clitest.Options{}, "logsaver", args...)
	p.WaitReady()
	for i := 0; rc.Tally.Count("app.log") < lines; i++ {
		if i == 3000 {
			t.Fatalf("%v after 30s", rc.Tally.Check("app.log", 1, lines))
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := rc.Tally.Check("app.log", 1, lines)
	t.Log(r)
	if !r.Lossless() || r.Unexpected != 0 {
		t.Fatal(r)
	}
	// In flight at a kill: a batch of 64 KiB of NDJSON (about 350 lines)
	// being sent, and those acknowledged during one checkpoint write.
	if r.Duplicates > 2*3000 {
		t.Errorf("%d lines repeated after two kills: more than the batches in flight", r.Duplicates)
	}
	_, metrics := p.Get("/metrics")
	for _, want := range []string{`podkit_logsaver_sink_batches_total{result="acked",sink="` + srv.URL, "podkit_logsaver_checkpoint_saves_total"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "checkpoints.json")); err != nil {
		t.Fatal(err)
	}
}

func TestLogsaverUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--state-dir", "/tmp/x", "--sink", "stdout"}, "--path"},
		{[]string{"--path", "/tmp/*.log", "--sink", "stdout"}, "--state-dir"},
		{[]string{"--path", "/tmp/*.log", "--state-dir", "/tmp/x"}, "--sink"},
		{[]string{"--path", "/tmp/*.log", "--state-dir", "/tmp/x", "--sink", "ftp://x"}, "--sink"},
		{[]string{"--path", "/tmp/*.log", "--state-dir", "/tmp/x", "--sink", "stdout", "--format", "xml"}, "--format"},
		{[]string{"--path", "/tmp/*.log", "--state-dir", "/tmp/x", "--sink", "stdout", "--max-buffer-bytes", "lots"}, "--max-buffer-bytes"},
		{[]string{"--path", "/tmp/*.log", "--state-dir", "/tmp/x", "--sink", "https://u:secretpw@h/x?nope=1"}, "--sink"},
	} {
		p := clitest.Start(t, clitest.Options{}, "logsaver", tc.args...)
		if code := p.Wait(); code != 2 {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		if !strings.Contains(p.Stderr(), tc.want) || strings.Contains(p.Stderr(), "secretpw") {
			t.Errorf("%v: stderr should name %s and no password:\n%s", tc.args, tc.want, p.Stderr())
		}
	}
}
