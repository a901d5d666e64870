package supervisor

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults, chosen to match what the child would get from Kubernetes.
const (
	DefaultGracePeriod       = 30 * time.Second // terminationGracePeriodSeconds
	DefaultHookTimeout       = 10 * time.Second
	DefaultRestartBackoff    = time.Second
	DefaultRestartBackoffMax = 30 * time.Second
	DefaultLogBufferBytes    = 256 << 10
	// backoffReset: a child that ran this long resets the restart delay to
	// the initial one, as Docker does after 10s of running.
	backoffReset = 10 * time.Second
)

// RestartPolicy says when an exited child is started again.
type RestartPolicy string

// Restart policies, as Docker and compose name them.
const (
	RestartNever     RestartPolicy = "never"
	RestartOnFailure RestartPolicy = "on-failure" // after a non-zero exit or death by signal
	RestartAlways    RestartPolicy = "always"
)

// Config configures a Supervisor.
type Config struct {
	// Argv is the command and its arguments (required); Argv[0] is looked
	// up in $PATH unless it contains a slash.
	Argv []string
	Env  []string // nil: this process's environment

	StopSignal  syscall.Signal // sent on a stop request; 0: SIGTERM
	GracePeriod time.Duration  // from the stop signal to SIGKILL of the process group; 0: 30s
	// SignalGroup forwards signals to the child's process group instead of
	// the child alone (the group is always what SIGKILL hits).
	SignalGroup bool

	PostStart   Hook          // run after every start, while the child runs
	PreStop     Hook          // run on a stop request, before the stop signal
	HookTimeout time.Duration // 0: 10s

	Restart           RestartPolicy // "": never
	MaxRestarts       int           // 0: unlimited
	RestartBackoff    time.Duration // first delay, doubled per restart; 0: 1s
	RestartBackoffMax time.Duration // 0: 30s

	// NoCapture leaves the child's stdout and stderr as this process's own
	// (a TTY stays a TTY) and disables the log ring. By default they are
	// pipes that pass through, unchanged, to Stdout and Stderr.
	NoCapture      bool
	Stdout, Stderr io.Writer // nil: os.Stdout, os.Stderr
	LogBufferBytes int       // the /logs ring's bound; 0: 256 KiB

	// NoSubreaper skips prctl(PR_SET_CHILD_SUBREAPER) when not PID 1; then
	// orphans of the child go to the real init instead.
	NoSubreaper bool

	// Signals is the process's subscription to the signals Run handles
	// (see Subscribe); nil: Run subscribes when it starts and unsubscribes
	// when it returns.
	Signals *Signals

	Logger   *slog.Logger          // nil: slog.Default()
	Registry prometheus.Registerer // nil: metrics not registered
}

// ErrBadConfig marks a configuration that cannot work; every such error is a
// *ConfigError.
var ErrBadConfig = errors.New("bad config")

// ConfigError names the field at fault, spelled as its podkit flag.
type ConfigError struct {
	Field string // e.g. "grace-period"
	Msg   string
}

func (e *ConfigError) Error() string        { return e.Field + ": " + e.Msg }
func (e *ConfigError) Is(target error) bool { return target == ErrBadConfig }

func badf(field, format string, args ...any) error {
	return &ConfigError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// withDefaults validates c and fills zero fields.
func (c Config) withDefaults() (Config, error) {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return c, badf("command", "want a command to run (podkit run [flags] -- COMMAND [ARGS...])")
	}
	for _, d := range []struct {
		field string
		v     *time.Duration
		def   time.Duration
	}{
		{"grace-period", &c.GracePeriod, DefaultGracePeriod},
		{"hook-timeout", &c.HookTimeout, DefaultHookTimeout},
		{"restart-backoff", &c.RestartBackoff, DefaultRestartBackoff},
		{"restart-backoff-max", &c.RestartBackoffMax, DefaultRestartBackoffMax},
	} {
		if *d.v < 0 {
			return c, badf(d.field, "must be > 0 (got %s)", *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.RestartBackoffMax < c.RestartBackoff {
		return c, badf("restart-backoff-max", "must be >= --restart-backoff (%s > %s)", c.RestartBackoff, c.RestartBackoffMax)
	}
	if c.StopSignal == 0 {
		c.StopSignal = syscall.SIGTERM
	}
	if c.StopSignal < 1 || c.StopSignal > maxSignal {
		return c, badf("stop-signal", "no such signal %d", int(c.StopSignal))
	}
	switch c.Restart {
	case "":
		c.Restart = RestartNever
	case RestartNever, RestartOnFailure, RestartAlways:
	default:
		return c, badf("restart", "want never, on-failure or always (got %q)", truncate(string(c.Restart), 40))
	}
	if c.MaxRestarts < 0 {
		return c, badf("max-restarts", "must be >= 0 (got %d)", c.MaxRestarts)
	}
	if c.LogBufferBytes < 0 {
		return c, badf("log-buffer-bytes", "must be >= 0 (got %d)", c.LogBufferBytes)
	}
	if c.LogBufferBytes == 0 {
		c.LogBufferBytes = DefaultLogBufferBytes
	}
	for _, h := range []struct {
		field string
		h     Hook
	}{{"post-start", c.PostStart}, {"pre-stop", c.PreStop}} {
		if err := h.h.validate(); err != nil {
			return c, badf(h.field, "%v", err)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// truncate cuts s to at most n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
