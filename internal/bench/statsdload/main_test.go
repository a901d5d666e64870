package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/podkit/podkit/internal/statsdtest"
)

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-types", "counter,histogram"},
		{"-network", "sctp"},
		{"-tags", "env"},
		{"-max-loss", "2"},
		{"-size", "1"},
		{"extra"},
	} {
		var out bytes.Buffer
		if code := run(args, &out, &out); code != 2 {
			t.Errorf("%q: exit %d, want 2\n%s", args, code, out.String())
		}
	}
}

// Against statsd_exporter: every line counted, JSON a driver can read, and
// a table; nobody listening on TCP is exit 1.
func TestRun(t *testing.T) {
	e := statsdtest.Start(t, "")
	var stdout, stderr bytes.Buffer
	args := []string{"-addr", e.UDPAddr, "-rate", "20000", "-n", "2000", "-types", "counter,timer", "-series", "100",
		"-metrics", e.URL + "/metrics", "-pid", strconv.Itoa(e.Pid), "-max-loss", "0"}
	if code := run(append(args, "-json"), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var r result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if r.Received == nil || r.Received.Lines != float64(r.Sent.Counted) || r.Sent.Counted != r.Sent.Lines || r.Server == nil || r.Server.RSSKiB == 0 {
		t.Errorf("result %s", stdout.String())
	}
	stdout.Reset()
	if code := run(args, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "loss 0.0000%") {
		t.Errorf("table: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"-network", "tcp", "-addr", "127.0.0.1:1", "-n", "10"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "dial tcp") {
		t.Errorf("nobody listening: exit %d, %s", code, stderr.String())
	}
}
