package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"go.uber.org/goleak"

	"github.com/podkit/podkit/internal/bench/mcload/load"
	"github.com/podkit/podkit/internal/clitest"
)

// clitest.Main removes the podkit it built.
func TestMain(m *testing.M) { clitest.Main(m) }

// End to end against real memcached, nutcracker and podkit, with tiny
// settings: every target measured, every value verified. No figure is
// asserted: this machine is shared and small.
func TestBench(t *testing.T) {
	// Every server started is stopped and waited for: its Wait goroutine
	// would show otherwise.
	defer goleak.VerifyNone(t)
	bin := clitest.Binary(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"-bin", bin, "-duration", "200ms", "-rounds", "1", "-conns", "4", "-settle", "0", "-keys", "1000", "-json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	var r report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("JSON: %v\n%s", err, stdout.String())
	}
	if len(r.Failures) > 0 {
		t.Errorf("failures: %q", r.Failures)
	}
	if len(r.Points) != 2 {
		t.Fatalf("%d points, want 2 (get, multiget 10 at 4 conns)", len(r.Points))
	}
	for _, p := range r.Points {
		for _, name := range allTargets {
			runs := p.Runs[name]
			if len(runs) != 1 {
				t.Fatalf("%s %d conns: %d runs of %s, want 1", p.Point.workload(), p.Point.Conns, len(runs), name)
			}
			if runs[0].Ops == 0 {
				t.Errorf("%s %d conns, %s: no request answered", p.Point.workload(), p.Point.Conns, name)
			}
			if e := p.Errors[name]; e.Verification() > 0 {
				t.Errorf("%s %d conns, %s: %d verification errors (%s)", p.Point.workload(), p.Point.Conns, name, e.Verification(), e)
			}
		}
	}
	if len(r.Memory) != 2 || r.Memory[0].IdleKiB == 0 || r.Memory[1].LoadedKiB == 0 {
		t.Errorf("memory of both proxies: %+v", r.Memory)
	}

	// The same report as tables names every target.
	var table bytes.Buffer
	if err := r.writeTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| direct |", "nutcracker", "podkit/nutcracker", "| podkit |", "none: every value read was verified"} {
		if !bytes.Contains(table.Bytes(), []byte(want)) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-rounds", "0"},
		{"-duration", "0s"},
		{"-conns", "4,x"},
		{"-targets", "direct,mcrouter"},
		{"extra"},
	} {
		var out bytes.Buffer
		if code := run(args, &out, &out); code != 2 {
			t.Errorf("%q: exit %d, want 2\n%s", args, code, out.String())
		}
	}
}

// A run with a verification error is a failure, however few; other errors
// only past -max-errors.
func TestSummarizeFailures(t *testing.T) {
	ok := &load.Result{Ops: 10, OpsPerSec: 10}
	bad := &load.Result{Ops: 10, Errors: load.Errors{Checksum: 1}}
	timeouts := &load.Result{Ops: 10, Errors: load.Errors{Timeout: 2}}
	for _, tc := range []struct {
		name      string
		runs      []*load.Result
		maxErrors int64
		failures  int
	}{
		{"clean", []*load.Result{ok, ok}, 0, 0},
		{"verification", []*load.Result{ok, bad}, 100, 1},
		{"timeouts over the limit", []*load.Result{timeouts}, 1, 1},
		{"timeouts allowed", []*load.Result{timeouts}, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &report{
				Targets: []target{{Name: "podkit", Proxy: true}},
				Points:  []pointResult{{Point: point{Multiget: 1, Conns: 4}, Runs: map[string][]*load.Result{"podkit": tc.runs}}},
			}
			r.summarize(tc.maxErrors)
			if len(r.Failures) != tc.failures {
				t.Errorf("failures %q, want %d", r.Failures, tc.failures)
			}
		})
	}
}
