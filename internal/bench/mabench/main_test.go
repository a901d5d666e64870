package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"go.uber.org/goleak"

	"github.com/podkit/podkit/internal/clitest"
)

// clitest.Main removes the podkit it built.
func TestMain(m *testing.M) { clitest.Main(m) }

// End to end against real statsd_exporter and podkit with tiny settings:
// every phase runs for both, and the series loads over TCP are counted
// exactly (the bench fails otherwise). No figure is asserted: this machine
// is shared and small.
func TestBench(t *testing.T) {
	// Every server started is stopped and waited for: its Wait goroutine
	// would show otherwise.
	defer goleak.VerifyNone(t)
	bin := clitest.Binary(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"-bin", bin, "-rounds", "2", "-steps", "1", "-step", "200ms", "-buffers", "default,1MiB",
		"-cpu-rate", "20000", "-cpu-duration", "200ms", "-tcp-duration", "200ms", "-series", "100",
		"-mem-series", "10,1000", "-scrapes", "2", "-timer-series", "500", "-timer-scrapes", "1", "-json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	var r report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("JSON: %v\n%s", err, stdout.String())
	}
	count := func(n int, what string) {
		t.Helper()
		if n != 2*2*2 { // targets x buffers x rounds
			t.Errorf("%d %s, want 8", n, what)
		}
	}
	count(len(r.Searches), "searches")
	count(len(r.CPU), "CPU runs")
	if len(r.TCP) != 4 { // first buffer only
		t.Errorf("%d TCP runs, want 4", len(r.TCP))
	}
	for _, s := range r.Searches {
		// The first round probes flat out, then steps once: two steps (or one
		// when flat out lost nothing). Later rounds step once.
		if len(s.Steps) == 0 || len(s.Steps) > 2 || s.Steps[0].Sent == 0 {
			t.Errorf("search %+v", s)
		}
	}
	for _, f := range append(r.CPU, r.TCP...) {
		if f.Received == 0 {
			t.Errorf("%s: nothing received: %+v", f.Target, f)
		}
	}
	for _, f := range r.TCP {
		if f.Loss != 0 {
			t.Errorf("%s lost %.4f%% over TCP", f.Target, 100*f.Loss)
		}
	}
	if len(r.Memory) != 4 {
		t.Fatalf("%d memory runs, want 4 (counter, timer x 2 targets)", len(r.Memory))
	}
	for _, m := range r.Memory {
		if m.IdleKiB == 0 || len(m.Loaded) == 0 || len(m.ScrapeSec) == 0 || m.ScrapedKiB[0] == 0 || m.WireBytes == 0 {
			t.Errorf("memory %+v", m)
		}
	}

	// The same report as tables: ratios and goals for both.
	var table bytes.Buffer
	if err := r.writeTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| default |", "| 1 MiB |", "podkit/statsd_exporter", ">= 2x:", "<= 0.5x:", "< 0.15 s:", "1000 counter series", "500 timer series", "nice"} {
		if !bytes.Contains(table.Bytes(), []byte(want)) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-rounds", "0"},
		{"-step", "0s"},
		{"-buffers", "default,4GB"},
		{"-mem-series", "100000,1000"},
		{"-targets", "podkit,veneur"},
		{"-max-loss", "0"},
		{"-max-series", "10"},
		{"-size", "10"},
		{"extra"},
	} {
		var out bytes.Buffer
		if code := run(args, &out, &out); code != 2 {
			t.Errorf("%q: exit %d, want 2\n%s", args, code, out.String())
		}
	}
}

func TestParseBuffers(t *testing.T) {
	got, err := parseBuffers("default,4MiB,256KiB,1000")
	if err != nil {
		t.Fatal(err)
	}
	want := []int{-1, 4 << 20, 256 << 10, 1000}
	if len(got) != len(want) {
		t.Fatalf("%v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%v, want %v", got, want)
		}
	}
}
