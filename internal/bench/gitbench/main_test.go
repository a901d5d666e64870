package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/podkit/podkit/internal/clitest"
)

// The git baseline is this binary started again with baselineEnv set;
// clitest.Main removes the podkit it built.
func TestMain(m *testing.M) {
	if os.Getenv(baselineEnv) == "1" {
		os.Exit(baselineMain(os.Args[1:], os.Stderr))
	}
	clitest.Main(m)
}

func TestParseOptions(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int // with ok false; -1: ok
		err  string
	}{
		{nil, -1, ""},
		{[]string{"-targets", "git", "-root-dir", "/dev/shm", "-podkit-args", "--no-fsync"}, -1, ""},
		{[]string{"-h"}, 0, ""},
		{[]string{"-targets", "git-sync"}, 2, "unknown target"},
		{[]string{"-files", "0"}, 2, "-files"},
		{[]string{"-pushes", "0"}, 2, "-pushes"},
		{[]string{"-period", "0s"}, 2, "-period"},
		{[]string{"-gap", "-1s"}, 2, "-gap"},
		{[]string{"extra"}, 2, "unexpected argument"},
	} {
		var stderr bytes.Buffer
		_, code, ok := parseOptions(tc.args, &stderr)
		if tc.code == -1 {
			if !ok {
				t.Errorf("%q: rejected: %s", tc.args, stderr.String())
			}
			continue
		}
		if ok || code != tc.code || !strings.Contains(stderr.String(), tc.err) {
			t.Errorf("%q: ok %v code %d, stderr %q; want code %d with %q", tc.args, ok, code, stderr.String(), tc.code, tc.err)
		}
	}
	o, _, _ := parseOptions(nil, io.Discard)
	if o.files != 5000 || o.fileSize != 10240 || o.commits != 500 || o.pushes != 10 || o.rounds != 3 || len(o.targets) != 2 {
		t.Errorf("defaults %+v", o)
	}
}

// End to end with tiny sizes: both targets make the initial sync and swap
// at every push with the right content (the bench fails otherwise). No
// figure is asserted: this machine is shared and small.
func TestBench(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"-bin", clitest.Binary(t), "-files", "50", "-file-size", "1024", "-commits", "3", "-pushes", "2",
		"-rounds", "1", "-idle", "500ms", "-gap", "50ms", "-settle", "100ms", "-timeout", "30s", "-json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	var r report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("JSON: %v\n%s", err, stdout.String())
	}
	if len(r.Runs) != 2 || len(r.Summary) != 2 || r.Ratios == nil {
		t.Fatalf("%d runs, %d summaries, ratios %v", len(r.Runs), len(r.Summary), r.Ratios)
	}
	for _, x := range r.Runs {
		if x.InitialSec <= 0 || len(x.LatenciesMs) != 2 || x.OwnPeakKiB == 0 || x.DiskKiB == 0 || x.Trees == 0 {
			t.Errorf("%s: %+v", x.Target, x)
		}
	}
	if x := r.Runs[1]; x.Target != tGit || x.Children == 0 || x.MaxChildKiB == 0 {
		t.Errorf("baseline: %+v", x)
	}
	if x := r.Runs[0]; !x.ReadyzOK {
		t.Errorf("podkit /readyz was not 200 after the initial sync")
	}
	var table bytes.Buffer
	if err := r.writeTable(&table); err != nil || !strings.Contains(table.String(), "git-sync v4.7.1, measured by the issue author, not in this run") {
		t.Errorf("table (%v):\n%s", err, table.String())
	}
}
