package supervisor

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	c, err := Config{Argv: []string{"app"}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.GracePeriod != DefaultGracePeriod || c.HookTimeout != DefaultHookTimeout || c.RestartBackoff != DefaultRestartBackoff ||
		c.RestartBackoffMax != DefaultRestartBackoffMax || c.StopSignal != syscall.SIGTERM || c.Restart != RestartNever ||
		c.LogBufferBytes != DefaultLogBufferBytes || c.Logger == nil {
		t.Errorf("defaults: %+v", c)
	}
	s, err := New(Config{Argv: []string{"app"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.cfg.Env) == 0 || s.cfg.Stdout == nil || s.cfg.Stderr == nil || s.logs == nil {
		t.Errorf("New's defaults: env %d vars, stdout %v, stderr %v, logs %v", len(s.cfg.Env), s.cfg.Stdout, s.cfg.Stderr, s.logs)
	}
	if st := s.Status(); st.State != StateStarting || s.Ready() == nil {
		t.Errorf("before Run: %+v, Ready %v", st, s.Ready())
	}
	if s, err := New(Config{Argv: []string{"app"}, NoCapture: true}); err != nil || s.logs != nil {
		t.Errorf("NoCapture: %v, ring %v", err, s.logs)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "command: want a command"},
		{Config{Argv: []string{""}}, "command: want a command"},
		{Config{GracePeriod: -time.Second}, "grace-period: must be > 0 (got -1s)"},
		{Config{HookTimeout: -1}, "hook-timeout: must be > 0"},
		{Config{RestartBackoff: -1}, "restart-backoff: must be > 0"},
		{Config{RestartBackoffMax: -1}, "restart-backoff-max: must be > 0"},
		{Config{RestartBackoff: time.Minute}, "restart-backoff-max: must be >= --restart-backoff (1m0s > 30s)"},
		{Config{StopSignal: 65}, "stop-signal: no such signal 65"},
		{Config{StopSignal: -1}, "stop-signal: no such signal -1"},
		{Config{Restart: "sometimes"}, `restart: want never, on-failure or always (got "sometimes")`},
		{Config{Restart: RestartPolicy(strings.Repeat("x", 100))}, `(got "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…")`},
		{Config{MaxRestarts: -1}, "max-restarts: must be >= 0 (got -1)"},
		{Config{LogBufferBytes: -1}, "log-buffer-bytes: must be >= 0"},
		{Config{PostStart: Hook{Argv: []string{"a"}, URL: mustHook(t, "http://h/").URL}}, "post-start: either a command or a URL"},
	} {
		if tc.cfg.Argv == nil && !strings.HasPrefix(tc.want, "command") {
			tc.cfg.Argv = []string{"app"}
		}
		_, err := New(tc.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want a ConfigError containing %q", tc.cfg, err, tc.want)
		}
	}
}

func mustHook(t *testing.T, s string) Hook {
	t.Helper()
	h, err := ParseHook(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestNextBackoff(t *testing.T) {
	const initial, max = time.Second, 5 * time.Second
	for _, tc := range []struct {
		last, ran, want time.Duration
	}{
		{0, 0, initial},
		{0, time.Hour, initial},
		{initial, time.Second, 2 * time.Second},
		{2 * time.Second, time.Second, 4 * time.Second},
		{4 * time.Second, time.Second, max},
		{max, time.Second, max},
		{max, backoffReset - 1, max},
		{max, backoffReset, initial},
	} {
		if got := nextBackoff(tc.last, initial, max, tc.ran); got != tc.want {
			t.Errorf("nextBackoff(last %s, ran %s) = %s, want %s", tc.last, tc.ran, got, tc.want)
		}
	}
}
