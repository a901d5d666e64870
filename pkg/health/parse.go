package health

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Options of the compact check syntax, in the order --help lists them.
var optionKeys = []string{"kind", "period", "timeout", "initial-delay", "failure-threshold", "success-threshold"}

// optionKey returns the key of a segment that reads as an option, a
// lower-case word and "=" (^([a-z][a-z0-9-]*)=), and the value after it.
func optionKey(seg string) (key, val string, ok bool) {
	key, val, ok = strings.Cut(seg, "=")
	if !ok || key == "" || key[0] < 'a' || key[0] > 'z' {
		return "", "", false
	}
	for i := 1; i < len(key); i++ {
		if c := key[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return "", "", false
		}
	}
	return key, val, true
}

// ParseSpec parses the compact form of one check:
//
//	NAME=TARGET[;key=value]...
//
// for example "api=http://127.0.0.1:8080/healthz;kind=liveness;period=5s".
// Keys (Kubernetes probe fields): kind (liveness, readiness, startup),
// period, timeout, initial-delay (Go durations), failure-threshold,
// success-threshold (integers). Unset keys take the Kubernetes defaults.
//
// The spec is split on ";" only where the next segment reads as an option
// ("word=..."): a ";" elsewhere stays in the target. An unknown word is an
// error, so typos do not vanish into the URL; a target that needs a literal
// ";word=" writes ";" as %3B. The result is validated; errors name the check
// and never quote the target, which may hold credentials.
func ParseSpec(text string) (Spec, error) {
	name, rest, ok := strings.Cut(text, "=")
	if !ok || name == "" || rest == "" {
		return Spec{}, &SpecError{Msg: "want NAME=TARGET[;key=value]..."}
	}
	s := Spec{Name: name}
	if !validName(name) {
		return Spec{}, nameError(name)
	}
	segs := strings.Split(rest, ";")
	target := segs[0]
	type opt struct{ key, val string }
	var opts []opt
	for _, seg := range segs[1:] {
		key, val, isOpt := optionKey(seg)
		switch {
		case isOpt:
			opts = append(opts, opt{key, val})
		case len(opts) == 0:
			target += ";" + seg
		default:
			// Glued to the previous value, which then fails to parse: no
			// option value contains ";".
			opts[len(opts)-1].val += ";" + seg
		}
	}
	s.Target = target
	seen := map[string]bool{}
	for _, o := range opts {
		if seen[o.key] {
			return Spec{}, s.errorf("option %s given twice", o.key)
		}
		seen[o.key] = true
		if err := s.set(o.key, o.val); err != nil {
			return Spec{}, err
		}
	}
	if err := s.Validate(); err != nil {
		return Spec{}, err
	}
	return s, nil
}

// set applies one option. Explicit zeros are errors, not defaults.
func (s *Spec) set(key, val string) error {
	shown := truncate(val, 40)
	duration := func(dst *time.Duration, allowZero bool) error {
		d, err := time.ParseDuration(val)
		switch {
		case err != nil:
			return s.errorf("%s=%q: want a duration such as 5s or 500ms", key, shown)
		case d < 0 && allowZero:
			return s.errorf("%s must be >= 0 (got %s)", key, d)
		case d <= 0 && !allowZero:
			return s.errorf("%s must be > 0 (got %s)", key, d)
		}
		*dst = d
		return nil
	}
	threshold := func(dst *int) error {
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 || n > 1_000_000 {
			return s.errorf("%s=%q: want an integer from 1", key, shown)
		}
		*dst = n
		return nil
	}
	switch key {
	case "kind":
		switch k := Kind(val); k {
		case Liveness, Readiness, Startup:
			s.Kind = k
			return nil
		}
		return s.errorf("kind=%q: want liveness, readiness or startup", shown)
	case "period":
		return duration(&s.Period, false)
	case "timeout":
		return duration(&s.Timeout, false)
	case "initial-delay":
		return duration(&s.InitialDelay, true)
	case "failure-threshold":
		return threshold(&s.FailureThreshold)
	case "success-threshold":
		return threshold(&s.SuccessThreshold)
	}
	return s.errorf("unknown option %q (want %s)", truncate(key, 40), strings.Join(optionKeys, ", "))
}

// String is the compact form ParseSpec reads, target redacted.
func (s Spec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s=%s", s.Name, redactTarget(s.Target))
	if s.Kind != "" {
		fmt.Fprintf(&b, ";kind=%s", s.Kind)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"period", s.Period}, {"timeout", s.Timeout}, {"initial-delay", s.InitialDelay}} {
		if d.v != 0 {
			fmt.Fprintf(&b, ";%s=%s", d.key, d.v)
		}
	}
	if s.FailureThreshold != 0 {
		fmt.Fprintf(&b, ";failure-threshold=%d", s.FailureThreshold)
	}
	if s.SuccessThreshold != 0 {
		fmt.Fprintf(&b, ";success-threshold=%d", s.SuccessThreshold)
	}
	return b.String()
}
