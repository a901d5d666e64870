package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/podkit/podkit/internal/clitest"
	"github.com/podkit/podkit/internal/proctest"
	"github.com/podkit/podkit/internal/statsdtest"
)

func TestMetricsAdapterCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mapping.yml")
	os.WriteFile(file, []byte("mappings:\n- match: app.*.hits\n  name: app_hits_total\n  labels:\n    route: $1\n"), 0o644)
	udp, metrics := proctest.FreeAddr(t), proctest.FreeAddr(t)
	// Flags and PODKIT_* variables both work.
	p := clitest.Start(t, clitest.Options{Env: []string{"PODKIT_MAX_SERIES=50", "PODKIT_STATSD_TCP_ADDR=" + udp}},
		"metrics-adapter", "--statsd-udp-addr", udp, "--metrics-addr", metrics, "--mapping-config", file)
	p.WaitReady()
	c, err := net.Dial("udp", udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("app.login.hits:2|c|#env:prod\nnot a line\n"))
	e := &statsdtest.Exporter{TCPAddr: udp, URL: "http://" + metrics}
	e.Send(t, "app.home.hits:1|c")
	text := e.Metrics(t)
	for _, want := range []string{
		`app_hits_total{env="prod",route="login"} 2`,
		`app_hits_total{route="home"} 1`,
		`podkit_metrics_adapter_parse_errors_total{input="statsd",reason="malformed_line"} 1`,
		`podkit_metrics_adapter_mappings 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// SIGHUP re-reads the mapping; a bad file is rejected, the process lives.
	os.WriteFile(file, []byte("mappings: [\n"), 0o644)
	p.Signal(syscall.SIGHUP)
	p.WaitLog("config reload rejected")
	if _, body := p.Get("/metrics"); !strings.Contains(body, "podkit_config_last_reload_successful 0") {
		t.Error("admin /metrics does not show the rejected reload")
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
}

func TestMetricsAdapterUsageErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yml")
	os.WriteFile(bad, []byte("mappings:\n- match: a.*\n  name: x\n  colour: red\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--statsd-udp-addr", ""}, "no input"},
		{[]string{"--max-series", "0"}, "max-series"},
		{[]string{"--statsd-tags", "graphite"}, "unknown dialect"},
		{[]string{"--mapping-config", bad}, "colour"},
		{[]string{"--mapping-config", "/nonexistent/mapping.yml"}, "no such file"},
	} {
		p := clitest.Start(t, clitest.Options{}, "metrics-adapter", append([]string{"--metrics-addr", proctest.FreeAddr(t)}, tc.args...)...)
		if code := p.Wait(); code != 2 {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		if !strings.Contains(p.Stderr(), tc.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", tc.args, tc.want, p.Stderr())
		}
	}
}
