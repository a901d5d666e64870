package main

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"github.com/podkit/podkit/internal/clitest"
)

func TestMain(m *testing.M) { clitest.Main(m) }

// runInProcess runs the command line through main's own dispatcher.
func runInProcess(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestHelpListsEveryCommand(t *testing.T) {
	code, out, _ := runInProcess("--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, want := range []string{"Patterns:", "health ", "Tools:", "probe ", "version ", "completion ", "[$PODKIT_LOG_LEVEL]"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %q:\n%s", want, out)
		}
	}
}

func TestVersionAndCompletion(t *testing.T) {
	r := clitest.Run(t, nil, "version")
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "podkit clitest (commit ") || !strings.Contains(r.Stdout, "go1.") {
		t.Fatalf("version = %d %q", r.Code, r.Stdout)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, out, _ := runInProcess("completion", shell)
		if code != 0 || !strings.Contains(out, "podkit") || len(out) < 500 {
			t.Errorf("completion %s = %d, %d bytes", shell, code, len(out))
		}
	}
}

func TestUsageErrorsExit2NamingTheFlag(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"health", "--shutdown-timeout=abc"}, `"--shutdown-timeout"`},
		{nil, []string{"health", "--shutdown-timeout=-1s"}, "--shutdown-timeout: must be > 0"},
		{nil, []string{"health", "--admin-addr="}, "--admin-addr: must not be empty"},
		{nil, []string{"health", "--log-format=xml"}, "--log-format: want json or text"},
		{nil, []string{"health", "--log-level=loud"}, "--log-level"},
		{nil, []string{"health", "--no-such-flag"}, "unknown flag: --no-such-flag"},
		{nil, []string{"health", "extra-arg"}, `unknown command "extra-arg"`},
		{nil, []string{"no-such-command"}, `unknown command "no-such-command"`},
		{[]string{"PODKIT_SHUTDOWN_TIMEOUT=soon"}, []string{"health"}, "$PODKIT_SHUTDOWN_TIMEOUT (--shutdown-timeout)"},
		{nil, []string{"probe"}, "accepts 1 arg"},
		{nil, []string{"probe", "ftp://127.0.0.1/"}, "scheme must be http, https or tcp"},
		{nil, []string{"probe", "--timeout=0s", "http://127.0.0.1/"}, "--timeout: must be > 0"},
	} {
		r := clitest.Run(t, tc.env, tc.args...)
		firstLine, _, _ := strings.Cut(r.Stderr, "\n")
		if r.Code != 2 || !strings.Contains(firstLine, tc.want) || !strings.HasPrefix(firstLine, "podkit") {
			t.Errorf("podkit %v: exit %d, stderr %q; want exit 2 and one line containing %q", tc.args, r.Code, r.Stderr, tc.want)
		}
	}
}

func TestAdminAddrInUseExits1(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := clitest.Run(t, nil, "health", "--admin-addr="+ln.Addr().String())
	if r.Code != 1 || !strings.Contains(r.Stderr, ln.Addr().String()) {
		t.Fatalf("exit %d, stderr %q; want 1 naming the address", r.Code, r.Stderr)
	}
}

func TestProbe(t *testing.T) {
	p := clitest.Start(t, clitest.Options{}, "health")
	p.WaitReady()
	base := p.AdminURL()
	for _, tc := range []struct {
		target string
		code   int
	}{
		{base + "/readyz", 0},
		{base + "/healthz", 0},
		{base + "/no-such-page", 1},
		{"tcp://" + strings.TrimPrefix(base, "http://"), 0},
		{"http://127.0.0.1:1/readyz", 1},
		{"tcp://127.0.0.1:1", 1},
	} {
		if r := clitest.Run(t, nil, "probe", "--timeout=2s", tc.target); r.Code != tc.code {
			t.Errorf("probe %s: exit %d (%q), want %d", tc.target, r.Code, r.Stderr, tc.code)
		}
	}
	p.Stop()
}
