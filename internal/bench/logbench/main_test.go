package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/clitest"
)

// The reference shipper is this binary started again with naiveEnv set;
// clitest.Main removes the podkit it built.
func TestMain(m *testing.M) {
	if os.Getenv(naiveEnv) == "1" {
		os.Exit(naiveMain(os.Args[1:], os.Stderr))
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
		{[]string{"-scenarios", "", "-sinks", "file", "-targets", "podkit"}, -1, ""},
		{[]string{"-h"}, 0, ""},
		{[]string{"-targets", "fluent-bit"}, 2, "unknown target"},
		{[]string{"-scenarios", "rename,fire"}, 2, `unknown "fire"`},
		{[]string{"-sinks", "s3"}, 2, `unknown "s3"`},
		{[]string{"-line-size", "20"}, 2, "-line-size"},
		{[]string{"-rate", "0"}, 2, "-rate"},
		{[]string{"-kills", "0"}, 2, "-kills"},
		{[]string{"-duration", "0s"}, 2, "-duration"},
		{[]string{"extra"}, 2, "unexpected argument"},
	} {
		var stderr bytes.Buffer
		o, code, ok := parseOptions(tc.args, &stderr)
		if tc.code == -1 {
			if !ok {
				t.Errorf("%q: rejected: %s", tc.args, stderr.String())
			}
			continue
		}
		if ok || code != tc.code || !strings.Contains(stderr.String(), tc.err) {
			t.Errorf("%q: ok %v code %d, stderr %q; want code %d with %q", tc.args, ok, code, stderr.String(), tc.code, tc.err)
		}
		_ = o
	}
	o, _, _ := parseOptions([]string{"-scenarios", "", "-podkit-args", "--batch-bytes 4MiB"}, io.Discard)
	if len(o.scenarios) != 0 || strings.Join(o.extra, " ") != "--batch-bytes 4MiB" || o.lines != 2_000_000 {
		t.Errorf("options %+v", o)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"plain", `q"b\s`, "tab\tnl\n\x00", "héllo", "bad\xffutf8"} {
		var got string
		if err := json.Unmarshal(appendJSONString(nil, []byte(s)), &got); err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); got != want {
			t.Errorf("%q: round trip %q", s, got)
		}
	}
}

// runJSON runs logbench with args and -json, and decodes its report.
func runJSON(t *testing.T, args ...string) (int, report, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append(args, "-json"), &stdout, &stderr)
	var r report
	if code == 0 || stdout.Len() > 0 {
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatalf("exit %d, JSON: %v\n%s\nstderr:\n%s", code, err, stdout.String(), stderr.String())
		}
	}
	return code, r, stderr.String()
}

// The harness without podkit: the reference shipper through a throughput
// run and two fault scenarios. It must deliver everything when nothing
// goes wrong, and the tally must see what it loses across a kill -9 (it
// restarts at the end of the file): that is what logbench is for.
func TestReference(t *testing.T) {
	code, r, stderr := runJSON(t, "-targets", "reference", "-lines", "20000", "-rounds", "1",
		"-scenarios", "rename,kill9", "-duration", "2s", "-rate", "5000", "-down", "300ms", "-settle", "1s")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if len(r.Throughput) != 1 || !r.Throughput[0].Complete || r.Throughput[0].Results[0].Report.Missing != 0 {
		t.Errorf("throughput %+v", r.Throughput)
	}
	if len(r.Faults) != 2 {
		t.Fatalf("faults %+v", r.Faults)
	}
	if f := r.Faults[0]; f.Scenario != "rename" || f.Rotated == 0 || f.Results[0].Report.Missing != 0 {
		t.Errorf("rename: %+v", f)
	}
	if f := r.Faults[1]; f.Scenario != "kill9" || f.Starts != 3 || f.Results[0].Report.Missing == 0 {
		t.Errorf("kill9: the reference lost nothing across 2 kill -9s: %+v", f)
	}
	if r.Failures != 0 {
		t.Errorf("%d failures: the reference's losses are not podkit's", r.Failures)
	}
	var table bytes.Buffer
	if err := r.writeTable(&table); err != nil || !strings.Contains(table.String(), "| kill9 | reference (naive) |") {
		t.Errorf("table (%v):\n%s", err, table.String())
	}
}

// End to end against podkit logsaver with tiny settings: every sink and
// scenario; a line lost (after the restart that tells late from lost), a
// bad record or an unclean exit makes logbench exit 1. No figure is
// asserted: this machine is shared and small.
func TestBench(t *testing.T) {
	start := time.Now()
	code, r, stderr := runJSON(t, "-bin", clitest.Binary(t), "-targets", "podkit", "-lines", "50000", "-rounds", "1",
		"-duration", "2s", "-rate", "5000", "-outage", "1s", "-outage-rate", "20000", "-down", "300ms", "-settle", "3s")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if len(r.Throughput) != 2 || len(r.Faults) != len(allScenarios) {
		t.Fatalf("%d throughput runs, %d fault runs", len(r.Throughput), len(r.Faults))
	}
	for _, x := range r.Throughput {
		if !x.Complete || x.CPUSec == 0 || x.PeakKiB == 0 {
			t.Errorf("throughput %+v", x)
		}
	}
	for _, f := range r.Faults {
		if len(f.Results) != 2 || f.Written == 0 {
			t.Errorf("%s: %+v", f.Scenario, f)
		}
		for _, sr := range f.Results {
			if sr.Report.Missing != 0 || sr.Bad != 0 {
				t.Errorf("%s: %s: %v", f.Scenario, sr.Sink, sr.Report)
			}
		}
	}
	t.Logf("%.0f s", time.Since(start).Seconds())
}
