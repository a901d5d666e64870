package health

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var parseTests = []struct {
	in   string
	want Spec   // when err == ""
	err  string // substring of the error
}{
	{in: "api=http://127.0.0.1:8080/healthz", want: Spec{Name: "api", Target: "http://127.0.0.1:8080/healthz"}},
	{
		in: "api=http://127.0.0.1:8080/healthz;kind=readiness;period=5s;timeout=1s;failure-threshold=3;success-threshold=2;initial-delay=0s",
		want: Spec{Name: "api", Target: "http://127.0.0.1:8080/healthz", Kind: Readiness, Period: 5 * time.Second,
			Timeout: time.Second, FailureThreshold: 3, SuccessThreshold: 2},
	},
	{in: "db=tcp://127.0.0.1:5432;kind=liveness;initial-delay=30s", want: Spec{Name: "db", Target: "tcp://127.0.0.1:5432", Kind: Liveness, InitialDelay: 30 * time.Second}},
	{in: "g=grpc://127.0.0.1:9090/my.pkg.Svc;kind=startup;period=500ms", want: Spec{Name: "g", Target: "grpc://127.0.0.1:9090/my.pkg.Svc", Kind: Startup, Period: 500 * time.Millisecond}},
	{in: "x=exec:/bin/check --mode=fast", want: Spec{Name: "x", Target: "exec:/bin/check --mode=fast"}},
	// ";" stays in the target unless an option follows; "=" in the target is fine.
	{in: "m=http://h:1/a;b/c?x=1", want: Spec{Name: "m", Target: "http://h:1/a;b/c?x=1"}},
	{in: "m=http://h:1/a;B=c", want: Spec{Name: "m", Target: "http://h:1/a;B=c"}},
	{in: "m=http://h:1/a%3Bkey=c;timeout=2s", want: Spec{Name: "m", Target: "http://h:1/a%3Bkey=c", Timeout: 2 * time.Second}},
	{in: "s=http://u:hunter2@h:1/", want: Spec{Name: "s", Target: "http://u:hunter2@h:1/"}},

	{in: "api", err: "want NAME=TARGET"},
	{in: "=http://h:1/", err: "want NAME=TARGET"},
	{in: "api=", err: "want NAME=TARGET"},
	{in: "a b=http://h:1/", err: `name "a b"`},
	{in: "-a=http://h:1/", err: `name "-a"`},
	{in: strings.Repeat("n", 64) + "=http://h:1/", err: "want 1 to 63"},
	{in: "api=http://h:1/;perod=5s", err: `api: unknown option "perod" (want kind, period, timeout, initial-delay, failure-threshold, success-threshold)`},
	{in: "api=http://h:1/;period=5s;perod=5s", err: `unknown option "perod"`},
	{in: "api=http://h:1/;period=5s;x;y", err: `period="5s;x;y": want a duration`},
	{in: "api=http://h:1/;period=5s;period=6s", err: "option period given twice"},
	{in: "api=http://h:1/;kind=sometimes", err: `kind="sometimes": want liveness, readiness or startup`},
	{in: "api=http://h:1/;period=0s", err: "period must be > 0 (got 0s)"},
	{in: "api=http://h:1/;timeout=-1s", err: "timeout must be > 0"},
	{in: "api=http://h:1/;initial-delay=-1s", err: "initial-delay must be >= 0"},
	{in: "api=http://h:1/;period=5", err: `period="5": want a duration`},
	{in: "api=http://h:1/;failure-threshold=0", err: `failure-threshold="0": want an integer from 1`},
	{in: "api=http://h:1/;success-threshold=x", err: `success-threshold="x"`},
	{in: "api=http://h:1/;kind=liveness;success-threshold=2", err: "success-threshold must be 1 for liveness checks"},
	{in: "api=http://h:1/;kind=startup;success-threshold=3", err: "success-threshold must be 1 for startup checks"},
	{in: "api=ftp://h/", err: `api: target: scheme "ftp": want http, https, tcp, grpc or exec:`},
	{in: "api=127.0.0.1:80", err: "api: target: want http://, https://, tcp://, grpc:// or exec:COMMAND"},
	{in: "api=http:///x", err: "no host"},
	{in: "t=tcp://nohost", err: "want tcp://host:port"},
	{in: "t=tcp://h:1/path?q", err: "want tcp://host:port"},
	{in: "g=grpc://h", err: "want grpc://host:port[/service]"},
	{in: "g=grpc://h:1/a/b", err: "want grpc://host:port[/service]"},
	{in: "x=exec:", err: "want exec:COMMAND ARGS"},
	{in: "x=exec:   ", err: "want exec:COMMAND ARGS"},
	{in: "s=http://u:hunter2@[::1;kind=liveness", err: "s: target"},
	{in: "s=tcp://u:hunter2@h:1", err: "s: target: tcp://h:1: want tcp://host:port"},
	{in: "g=grpc://h:1/a/:hunter2@b", err: "g: target: grpc://h:1: want grpc://host:port[/service]"},
	{in: "0=A#://:hunter2@", err: `0: target: scheme "": want`},
}

func TestParseSpec(t *testing.T) {
	for _, tc := range parseTests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSpec(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrBadSpec) {
					t.Fatalf("ParseSpec = %+v, %v; want ErrBadSpec containing %q", got, err, tc.err)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want.String() || got.Target != tc.want.Target {
				t.Fatalf("ParseSpec = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestSpecStringRedacts(t *testing.T) {
	s, err := ParseSpec("s=https://u:hunter2@h:1/x;kind=liveness;timeout=2s")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "s=https://u:xxxxx@h:1/x;kind=liveness;timeout=2s"; got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
}

// targetPassword is the URL password in a spec's target, if any.
func targetPassword(spec string) string {
	_, rest, _ := strings.Cut(spec, "=")
	target, _, _ := strings.Cut(rest, ";")
	u, err := url.Parse(target)
	if err != nil || u.User == nil {
		return ""
	}
	pw, _ := u.User.Password()
	return pw
}

// FuzzParseSpec: never a panic, never a leaked password; what parses is
// valid and survives a round trip through String.
func FuzzParseSpec(f *testing.F) {
	for _, tc := range parseTests {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSpec(in)
		if err != nil {
			if !errors.Is(err, ErrBadSpec) {
				t.Fatalf("error %v is not ErrBadSpec", err)
			}
			if pw := targetPassword(in); len(pw) >= 4 && strings.Contains(err.Error(), pw) {
				t.Fatalf("error leaks the password %q: %v", pw, err)
			}
			if strings.Contains(in, ":hunter2@") && strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error leaks the password: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("ParseSpec(%q) returned an invalid spec: %v", in, err)
		}
		if redactTarget(s.Target) != s.Target {
			return // String redacts: no round trip
		}
		again, err := ParseSpec(s.String())
		if err != nil || again.String() != s.String() || again.Target != s.Target {
			t.Fatalf("round trip %q -> %q -> %+v, %v", in, s.String(), again, err)
		}
	})
}

// validName and optionKey are hand-written to keep regexp compilation off
// podkit's start; they must agree with the patterns they document.
func FuzzNameAndOptionMatchers(f *testing.F) {
	nameRE := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	optionRE := regexp.MustCompile(`^([a-z][a-z0-9-]*)=`)
	for _, s := range []string{"", "a", "app", "-a", "a-b_c.d", "A9", "a b", strings.Repeat("x", 63), strings.Repeat("x", 64),
		"period=1s", "failure-threshold=3", "Period=1s", "9x=1", "x", "=1", "a-=", "é=1", "a=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validName(s), nameRE.MatchString(s); got != want {
			t.Errorf("validName(%q) = %v, regexp says %v", s, got, want)
		}
		key, val, ok := optionKey(s)
		m := optionRE.FindStringSubmatch(s)
		if ok != (m != nil) || ok && (key != m[1] || val != s[len(m[0]):]) {
			t.Errorf("optionKey(%q) = %q %q %v, regexp says %q", s, key, val, ok, m)
		}
	})
}
