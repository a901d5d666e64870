package supervisor

import (
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
)

var parseSignalTests = []struct {
	in   string
	want syscall.Signal // 0: an error
}{
	{"TERM", syscall.SIGTERM},
	{"SIGTERM", syscall.SIGTERM},
	{"sigterm", syscall.SIGTERM},
	{" hup ", syscall.SIGHUP},
	{"Usr1", syscall.SIGUSR1},
	{"9", syscall.SIGKILL},
	{"SIG15", syscall.SIGTERM},
	{"64", 64},
	{"IOT", syscall.SIGABRT},
	{"SIGPOLL", syscall.SIGIO},
	{"CLD", syscall.SIGCHLD},
	{"RTMIN", 34},
	{"SIGRTMIN+3", 37},
	{"rtmin+30", 64},
	{"RTMIN+0", 34},
	{"RTMAX", 64},
	{"RTMAX-1", 63},
	{"SIGRTMAX-30", 34},
	{"", 0},
	{"SIG", 0},
	{"0", 0},
	{"65", 0},
	{"-1", 0},
	{"NOPE", 0},
	{"SIGSIGTERM", 0},
	{"RTMIN+31", 0},
	{"RTMAX-31", 0},
	{"RTMIN-1", 0},
	{"RTMAX+1", 0},
	{"RTMIN+", 0},
	{"RTMIN+03", 0},
	{"RTMIN++3", 0},
	{"RTMIN+-3", 0},
	{"TERM\x00", 0},
}

func TestParseSignal(t *testing.T) {
	for _, tc := range parseSignalTests {
		got, err := ParseSignal(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("ParseSignal(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestSignalNameRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for sig := syscall.Signal(1); sig <= maxSignal; sig++ {
		name := SignalName(sig)
		if !strings.HasPrefix(name, "SIG") || seen[name] {
			t.Errorf("SignalName(%d) = %q: not SIG-prefixed, or not unique", sig, name)
		}
		seen[name] = true
		if got, err := ParseSignal(name); err != nil || got != sig {
			t.Errorf("ParseSignal(SignalName(%d) = %q) = %d, %v", sig, name, got, err)
		}
	}
	for sig, want := range map[syscall.Signal]string{
		syscall.SIGHUP: "SIGHUP", syscall.SIGTERM: "SIGTERM", syscall.SIGSYS: "SIGSYS",
		32: "SIG32", 33: "SIG33", 34: "SIGRTMIN", 37: "SIGRTMIN+3", 64: "SIGRTMIN+30", 0: "SIG0", 65: "SIG65",
	} {
		if got := SignalName(sig); got != want {
			t.Errorf("SignalName(%d) = %q, want %q", sig, got, want)
		}
	}
}

func TestForwardedSignals(t *testing.T) {
	fwd := ForwardedSignals()
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGUSR1,
		syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGCONT, syscall.SIGTSTP, syscall.SIGALRM, 35, 64} {
		if !slices.Contains(fwd, sig) {
			t.Errorf("%s not forwarded", SignalName(sig))
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGCHLD, syscall.SIGURG, syscall.SIGPROF,
		syscall.SIGPIPE, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL,
		syscall.SIGTRAP, syscall.SIGABRT, syscall.SIGSYS, syscall.SIGSTKFLT, 32, 33, 34} {
		if slices.Contains(fwd, sig) {
			t.Errorf("%s forwarded", SignalName(sig))
		}
	}
	if len(fwd)+len(notForwarded) != int(maxSignal) {
		t.Errorf("%d forwarded + %d not = %d, want %d", len(fwd), len(notForwarded), len(fwd)+len(notForwarded), maxSignal)
	}
	for _, sig := range []syscall.Signal{syscall.SIGPIPE, syscall.SIGTTIN, syscall.SIGTTOU} { // caught, not forwarded
		if !notForwarded[sig] {
			t.Errorf("%s is caught but would be forwarded", SignalName(sig))
		}
		if !slices.Contains(urgentSignals, sig) {
			t.Errorf("%s is caught but not before the child starts", SignalName(sig))
		}
	}
	// Between them, the urgent and later subscriptions cover every
	// forwarded signal once.
	later := laterSignals()
	for _, sig := range fwd {
		if slices.Contains(urgentSignals, sig) == slices.Contains(later, os.Signal(sig)) {
			t.Errorf("%s: urgent %v, later %v", SignalName(sig), slices.Contains(urgentSignals, sig), slices.Contains(later, os.Signal(sig)))
		}
	}
}

func FuzzParseSignal(f *testing.F) {
	for _, tc := range parseSignalTests {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := ParseSignal(s)
		if err != nil {
			if len(err.Error()) > 128 { // truncated input, escaped: at most ~100
				t.Errorf("error of %d bytes quotes too much: %q", len(err.Error()), err)
			}
			return
		}
		if sig < 1 || sig > maxSignal {
			t.Fatalf("ParseSignal(%q) = %d, out of range", s, sig)
		}
		if again, err := ParseSignal(SignalName(sig)); err != nil || again != sig {
			t.Fatalf("ParseSignal(%q) = %d, but its name %q parses as %d, %v", s, sig, SignalName(sig), again, err)
		}
	})
}
