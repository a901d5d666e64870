package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// Kind says what a check's verdict feeds, as for Kubernetes probes.
type Kind string

// Check kinds.
const (
	// Liveness checks feed /healthz. A check is healthy until proven failing,
	// as the kubelet treats a liveness probe before its first result.
	Liveness Kind = "liveness"
	// Readiness checks feed /readyz: not ready until the first success.
	// It is the default: a failing dependency should take the pod out of
	// load balancing, not restart it.
	Readiness Kind = "readiness"
	// Startup checks hold back every other check (and readiness) until each
	// has succeeded once; then they stop running, as the kubelet does.
	Startup Kind = "startup"
)

// Kubernetes probe defaults (core/v1 Probe).
const (
	DefaultPeriod           = 10 * time.Second
	DefaultTimeout          = 1 * time.Second
	DefaultFailureThreshold = 3
	DefaultSuccessThreshold = 1
	DefaultKind             = Readiness
)

// ErrBadSpec marks a check specification that cannot work (a usage error);
// every such error is a *SpecError.
var ErrBadSpec = errors.New("bad check")

// SpecError says what is wrong with one check. It never quotes the target,
// which may hold credentials.
type SpecError struct {
	Name string // the check's name; "" when the name itself is missing
	Msg  string
}

func (e *SpecError) Error() string {
	if e.Name == "" {
		return e.Msg
	}
	return e.Name + ": " + e.Msg
}

// Is makes errors.Is(err, ErrBadSpec) true.
func (e *SpecError) Is(target error) bool { return target == ErrBadSpec }

// Spec is one check. Zero values take the Kubernetes defaults.
type Spec struct {
	Name string // required: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 63 bytes; a metric label value
	// Target is http://…, https://…, tcp://host:port, grpc://host:port[/service]
	// or exec:COMMAND ARGS…; with Func set it only names the check's target
	// in /checks.
	Target           string
	Kind             Kind          // "": Readiness
	Period           time.Duration // 0: 10s
	Timeout          time.Duration // 0: 1s
	InitialDelay     time.Duration // before the first probe; counted from Run's start
	FailureThreshold int           // 0: 3
	SuccessThreshold int           // 0: 1; must be 1 for liveness and startup, as in Kubernetes
	ExpectBody       string        // HTTP(S) only: a regexp the first 64 KiB of the body must match

	// Func, when set, is probed instead of Target: a library user's own
	// check. It must return once ctx ends.
	Func func(ctx context.Context) error
}

// Config configures a Checker.
type Config struct {
	Checks   []Spec
	Logger   *slog.Logger          // nil: slog.Default()
	Registry prometheus.Registerer // nil: metrics not registered
}

// validName is ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$, hand-written because a
// package-level regexp costs every podkit start, `run` and `probe` included.
func validName(name string) bool {
	if len(name) == 0 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}

// withDefaults fills zero fields with the Kubernetes defaults.
func (s Spec) withDefaults() Spec {
	if s.Kind == "" {
		s.Kind = DefaultKind
	}
	if s.Period == 0 {
		s.Period = DefaultPeriod
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.FailureThreshold == 0 {
		s.FailureThreshold = DefaultFailureThreshold
	}
	if s.SuccessThreshold == 0 {
		s.SuccessThreshold = DefaultSuccessThreshold
	}
	return s
}

// Validate reports what is wrong with s after defaults, naming the check and
// the field. It does no I/O: a command missing from PATH or a target that does
// not answer is a failing check, not a bad one.
func (s Spec) Validate() error {
	_, err := s.withDefaults().compile()
	return err
}

func (s Spec) errorf(format string, args ...any) error {
	return &SpecError{Name: s.Name, Msg: fmt.Sprintf(format, args...)}
}

// compile validates s (with defaults applied) and builds its prober.
func (s Spec) compile() (prober, error) {
	if !validName(s.Name) {
		return prober{}, nameError(s.Name)
	}
	switch s.Kind {
	case Liveness, Readiness, Startup:
	default:
		return prober{}, s.errorf("kind %q: want liveness, readiness or startup", truncate(string(s.Kind), 40))
	}
	if s.Period <= 0 {
		return prober{}, s.errorf("period must be > 0 (got %s)", s.Period)
	}
	if s.Timeout <= 0 {
		return prober{}, s.errorf("timeout must be > 0 (got %s)", s.Timeout)
	}
	if s.InitialDelay < 0 {
		return prober{}, s.errorf("initial-delay must be >= 0 (got %s)", s.InitialDelay)
	}
	if s.FailureThreshold < 1 {
		return prober{}, s.errorf("failure-threshold must be >= 1 (got %d)", s.FailureThreshold)
	}
	if s.SuccessThreshold < 1 {
		return prober{}, s.errorf("success-threshold must be >= 1 (got %d)", s.SuccessThreshold)
	}
	if s.SuccessThreshold != 1 && s.Kind != Readiness {
		return prober{}, s.errorf("success-threshold must be 1 for %s checks (got %d), as in Kubernetes", s.Kind, s.SuccessThreshold)
	}
	if s.Func != nil {
		if s.ExpectBody != "" {
			return prober{}, s.errorf("expect-body applies to HTTP targets only")
		}
		return prober{probe: s.Func}, nil
	}
	p, err := newProber(s.Target, s.ExpectBody)
	if err != nil {
		return prober{}, s.errorf("target: %s", strings.TrimPrefix(err.Error(), ErrBadTarget.Error()+": "))
	}
	return p, nil
}

func nameError(name string) error {
	return &SpecError{Msg: fmt.Sprintf("name %q: want 1 to 63 of A-Z a-z 0-9 _ . - (not starting with _ . -)", truncate(name, 80))}
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
