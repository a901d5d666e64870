package benchkit

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCPU(t *testing.T) {
	for end := time.Now().Add(30 * time.Millisecond); time.Now().Before(end); {
	}
	d, err := CPU(os.Getpid())
	if err != nil || d <= 0 {
		t.Errorf("CPU(self) = %v, %v", d, err)
	}
	if _, err := CPU(1 << 30); err == nil {
		t.Error("CPU of no process: no error")
	}
	if u, s := SelfCPU(); u+s <= 0 {
		t.Errorf("SelfCPU() = %v, %v", u, s)
	}
}

func TestRSSKiB(t *testing.T) {
	kib, err := RSSKiB(os.Getpid())
	if err != nil || kib <= 0 {
		t.Errorf("RSSKiB(self) = %d, %v", kib, err)
	}
	if _, err := RSSKiB(1 << 30); err == nil {
		t.Error("RSSKiB of no process: no error")
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := slices.Clone(tc.in)
		if got := Median(in); got != tc.want {
			t.Errorf("Median(%v) = %g, want %g", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("Median sorted its argument: %v", in)
		}
	}
}

func TestFlagValues(t *testing.T) {
	if got, err := Ints("-conns", "4, 32,128"); err != nil || !slices.Equal(got, []int{4, 32, 128}) {
		t.Errorf("Ints = %v, %v", got, err)
	}
	for _, bad := range []string{"", "4,x", "0", "4,,8"} {
		if _, err := Ints("-conns", bad); err == nil || !strings.HasPrefix(err.Error(), "-conns: ") {
			t.Errorf("Ints(%q) = %v, want a -conns error", bad, err)
		}
	}
	if got := Split(" a, ,b,"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Split = %q", got)
	}
	all := []string{"direct", "podkit"}
	if got, err := Targets("podkit,direct", all); err != nil || !slices.Equal(got, []string{"podkit", "direct"}) {
		t.Errorf("Targets = %v, %v", got, err)
	}
	if _, err := Targets("podkit,mcrouter", all); err == nil || err.Error() != `-targets: unknown target "mcrouter"` {
		t.Errorf("Targets(mcrouter) = %v", err)
	}
}

func TestParseUsagePrint(t *testing.T) {
	var out bytes.Buffer
	newFS := func() *flag.FlagSet {
		fs := flag.NewFlagSet("xbench", flag.ContinueOnError)
		fs.SetOutput(&out)
		fs.Int("n", 1, "n")
		return fs
	}
	for _, tc := range []struct {
		args []string
		code int
		ok   bool
	}{
		{[]string{"-n", "2"}, 0, true},
		{[]string{"-h"}, 0, false},
		{[]string{"-x"}, 2, false},
	} {
		if code, ok := Parse(newFS(), tc.args); code != tc.code || ok != tc.ok {
			t.Errorf("Parse(%q) = %d, %t, want %d, %t", tc.args, code, ok, tc.code, tc.ok)
		}
	}
	out.Reset()
	if code := Usage(newFS(), errors.New("-n: must be > 0")); code != 2 || out.String() != "xbench: -n: must be > 0\n" {
		t.Errorf("Usage: %d, %q", code, out.String())
	}

	v := struct{ A int }{1}
	table := func(w io.Writer) error {
		_, err := io.WriteString(w, "| A | 1 |\n")
		return err
	}
	out.Reset()
	if err := Print(&out, true, v, table); err != nil || out.String() != "{\n  \"A\": 1\n}\n" {
		t.Errorf("Print JSON: %v, %q", err, out.String())
	}
	out.Reset()
	if err := Print(&out, false, v, table); err != nil || out.String() != "| A | 1 |\n" {
		t.Errorf("Print table: %v, %q", err, out.String())
	}
}

// A started process is waited for by address and URL, stopped, and then
// reported as exited with the end of its log.
func TestProc(t *testing.T) {
	addr, err := FreeAddr("udp")
	if _, _, e := net.SplitHostPort(addr); err != nil || e != nil {
		t.Fatalf("FreeAddr(udp) = %q, %v", addr, err)
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip(err)
	}
	p, err := Start("sleeper", filepath.Join(t.TempDir(), "sleeper.log"), sleep, "60")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	if !p.Alive() || p.PID() <= 0 {
		t.Fatalf("alive %t, pid %d", p.Alive(), p.PID())
	}
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	if err := p.WaitHTTP(srv.URL); err != nil {
		t.Error(err)
	}
	if err := p.WaitTCP(srv.Listener.Addr().String()); err != nil {
		t.Error(err)
	}
	p.Stop()
	if p.Alive() {
		t.Error("alive after Stop")
	}
	if err := p.WaitTCP(srv.Listener.Addr().String()); err == nil || !strings.Contains(err.Error(), "sleeper (pid ") {
		t.Errorf("WaitTCP after Stop = %v", err)
	}
}

func TestFindBin(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "podkit-bench-tool")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "not-exec"), nil, 0o644)
	if got, err := FindBin("podkit-bench-tool", "", "/nonexistent", dir); err != nil || got != exe {
		t.Errorf("FindBin = %q, %v; want %s", got, err, exe)
	}
	if got, _ := FindBin("podkit-bench-tool", "/given", dir); got != "/given" {
		t.Errorf("the flag's value must win, got %q", got)
	}
	if _, err := FindBin("not-exec", "", dir); err == nil {
		t.Error("a file that is not executable was found")
	}
}
