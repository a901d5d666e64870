package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func newCmd() (*cobra.Command, *time.Duration, *string, *[]string) {
	var d time.Duration
	var s string
	var arr []string
	c := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	c.Flags().DurationVar(&d, "shutdown-timeout", 10*time.Second, "timeout")
	c.Flags().StringVar(&s, "admin-addr", "127.0.0.1:9701", "addr")
	c.Flags().StringArrayVar(&arr, "check", nil, "checks")
	return c, &d, &s, &arr
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestEnvName(t *testing.T) {
	if got := EnvName("shutdown-timeout"); got != "PODKIT_SHUTDOWN_TIMEOUT" {
		t.Fatalf("EnvName = %q", got)
	}
}

func TestBindEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		timeout time.Duration
		addr    string
		checks  []string
		err     string
	}{
		{name: "defaults", timeout: 10 * time.Second, addr: "127.0.0.1:9701"},
		{name: "env sets", env: map[string]string{"PODKIT_SHUTDOWN_TIMEOUT": "3s", "PODKIT_ADMIN_ADDR": "127.0.0.1:1"}, timeout: 3 * time.Second, addr: "127.0.0.1:1"},
		{name: "flag wins", args: []string{"--shutdown-timeout=5s"}, env: map[string]string{"PODKIT_SHUTDOWN_TIMEOUT": "3s"}, timeout: 5 * time.Second, addr: "127.0.0.1:9701"},
		{name: "array one per line", env: map[string]string{"PODKIT_CHECK": "a=http://x,y\nb=tcp://z:1\n"}, timeout: 10 * time.Second, addr: "127.0.0.1:9701", checks: []string{"a=http://x,y", "b=tcp://z:1"}},
		{name: "bad env names var and flag", env: map[string]string{"PODKIT_SHUTDOWN_TIMEOUT": "soon"}, err: "$PODKIT_SHUTDOWN_TIMEOUT (--shutdown-timeout)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, d, s, arr := newCmd()
			if err := c.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			err := BindEnv(c, env(tc.env))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || ExitCode(err) != ExitUsage {
					t.Fatalf("BindEnv = %v, want usage error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *d != tc.timeout || *s != tc.addr || strings.Join(*arr, "|") != strings.Join(tc.checks, "|") {
				t.Fatalf("got %v %q %q, want %v %q %q", *d, *s, *arr, tc.timeout, tc.addr, tc.checks)
			}
		})
	}
}

// A command with an EnvAlias reads the other tool's variables too, after
// PODKIT_* (gitsync and GITSYNC_*).
func TestBindEnvAlias(t *testing.T) {
	c, d, s, _ := newCmd()
	c.Annotations = map[string]string{EnvAlias: "GITSYNC_"}
	if err := c.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	err := BindEnv(c, env(map[string]string{"GITSYNC_SHUTDOWN_TIMEOUT": "4s", "GITSYNC_ADMIN_ADDR": "127.0.0.1:2", "PODKIT_ADMIN_ADDR": "127.0.0.1:3"}))
	if err != nil {
		t.Fatal(err)
	}
	if *d != 4*time.Second || *s != "127.0.0.1:3" {
		t.Fatalf("got %v %q, want 4s from GITSYNC_ and the PODKIT_ address", *d, *s)
	}
	c2, d2, _, _ := newCmd()
	if err := BindEnv(c2, env(map[string]string{"GITSYNC_SHUTDOWN_TIMEOUT": "4s"})); err != nil || *d2 == 4*time.Second {
		t.Fatalf("a command without the alias read GITSYNC_: %v %v", *d2, err)
	}
}

func TestAnnotateEnvOnce(t *testing.T) {
	root := &cobra.Command{Use: "root"}
	root.PersistentFlags().String("log-level", "info", "level")
	sub, _, _, _ := newCmd()
	root.AddCommand(sub)
	AnnotateEnv(root)
	u := root.PersistentFlags().Lookup("log-level").Usage
	if strings.Count(u, "[$PODKIT_LOG_LEVEL]") != 1 {
		t.Fatalf("usage %q lacks the env name", u)
	}
	if got := sub.Flags().Lookup("admin-addr").Usage; !strings.HasSuffix(got, "[$PODKIT_ADMIN_ADDR]") {
		t.Fatalf("usage %q lacks the env name", got)
	}
}

func TestNewLogger(t *testing.T) {
	var b strings.Builder
	log, err := NewLogger(&b, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", "v")
	if out := b.String(); strings.Contains(out, "hidden") || !strings.Contains(out, `"msg":"shown"`) {
		t.Fatalf("json/warn logger wrote %q", out)
	}
	for _, tc := range []struct{ format, level, flag string }{{"xml", "info", "--log-format"}, {"text", "loud", "--log-level"}} {
		if _, err := NewLogger(&b, tc.format, tc.level); err == nil || !strings.Contains(err.Error(), tc.flag) || ExitCode(err) != ExitUsage {
			t.Errorf("NewLogger(%q, %q) = %v, want usage error naming %s", tc.format, tc.level, err, tc.flag)
		}
	}
}
