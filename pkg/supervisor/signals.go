package supervisor

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Linux signal numbers beyond the 31 classic ones. 32 and 33 belong to the C
// library's threads; SIGRTMIN is 34 as glibc, Docker and Kubernetes count it
// (systemd's SIGRTMIN+3 is 37).
const (
	sigRTMin  = 34
	maxSignal = syscall.Signal(64)
)

var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "HUP", syscall.SIGINT: "INT", syscall.SIGQUIT: "QUIT", syscall.SIGILL: "ILL",
	syscall.SIGTRAP: "TRAP", syscall.SIGABRT: "ABRT", syscall.SIGBUS: "BUS", syscall.SIGFPE: "FPE",
	syscall.SIGKILL: "KILL", syscall.SIGUSR1: "USR1", syscall.SIGSEGV: "SEGV", syscall.SIGUSR2: "USR2",
	syscall.SIGPIPE: "PIPE", syscall.SIGALRM: "ALRM", syscall.SIGTERM: "TERM", syscall.SIGSTKFLT: "STKFLT",
	syscall.SIGCHLD: "CHLD", syscall.SIGCONT: "CONT", syscall.SIGSTOP: "STOP", syscall.SIGTSTP: "TSTP",
	syscall.SIGTTIN: "TTIN", syscall.SIGTTOU: "TTOU", syscall.SIGURG: "URG", syscall.SIGXCPU: "XCPU",
	syscall.SIGXFSZ: "XFSZ", syscall.SIGVTALRM: "VTALRM", syscall.SIGPROF: "PROF", syscall.SIGWINCH: "WINCH",
	syscall.SIGIO: "IO", syscall.SIGPWR: "PWR", syscall.SIGSYS: "SYS",
}

var signalAliases = map[string]syscall.Signal{"IOT": syscall.SIGABRT, "POLL": syscall.SIGIO, "CLD": syscall.SIGCHLD}

// SignalName is the conventional name of sig: "SIGHUP", "SIGRTMIN+3", "SIG33".
func SignalName(sig syscall.Signal) string {
	if n, ok := signalNames[sig]; ok {
		return "SIG" + n
	}
	if sig >= sigRTMin && sig <= maxSignal {
		if sig == sigRTMin {
			return "SIGRTMIN"
		}
		return "SIGRTMIN+" + strconv.Itoa(int(sig-sigRTMin))
	}
	return "SIG" + strconv.Itoa(int(sig))
}

// ParseSignal reads a signal as Docker's STOPSIGNAL does: a name with or
// without "SIG", any case ("TERM", "sigterm"), "RTMIN+N", "RTMAX-N", or a
// number from 1 to 64.
func ParseSignal(s string) (syscall.Signal, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	name = strings.TrimPrefix(name, "SIG")
	if n, err := strconv.Atoi(name); err == nil {
		if n < 1 || n > int(maxSignal) {
			return 0, fmt.Errorf("signal %d out of range 1-%d", n, int(maxSignal))
		}
		return syscall.Signal(n), nil
	}
	for sig, n := range signalNames {
		if n == name {
			return sig, nil
		}
	}
	if sig, ok := signalAliases[name]; ok {
		return sig, nil
	}
	rt := func(base string, sign int, from int) (syscall.Signal, bool) {
		rest, ok := strings.CutPrefix(name, base)
		if !ok {
			return 0, false
		}
		off := 0
		if rest != "" {
			op := "+"
			if sign < 0 {
				op = "-"
			}
			num, ok := strings.CutPrefix(rest, op)
			n, err := strconv.Atoi(num)
			if !ok || err != nil || n < 0 || num != strconv.Itoa(n) {
				return 0, false
			}
			off = n
		}
		sig := from + sign*off
		if sig < sigRTMin || sig > int(maxSignal) {
			return 0, false
		}
		return syscall.Signal(sig), true
	}
	if sig, ok := rt("RTMIN", 1, sigRTMin); ok {
		return sig, nil
	}
	if sig, ok := rt("RTMAX", -1, int(maxSignal)); ok {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", truncate(s, 20))
}

// notForwarded are the signals podkit catches or leaves alone but never
// passes on. Like tini: the synchronous ones (a fault of podkit's own, never
// meant for the child) and job control aimed at podkit itself (SIGTTIN,
// SIGTTOU). Beyond tini: SIGCHLD (the reaper's), SIGURG and SIGPROF (the Go
// runtime's preemption and profiling) and SIGPIPE (raised by podkit's own
// write to a closed stdout). SIGKILL and SIGSTOP cannot be caught; nor, in
// a Go program, SIGSTKFLT (it crashes podkit, as SIGSYS does) and signals
// 32-34 (SIGRTMIN itself), which the Go runtime keeps for the C library.
var notForwarded = map[syscall.Signal]bool{
	syscall.SIGKILL: true, syscall.SIGSTOP: true,
	syscall.SIGILL: true, syscall.SIGTRAP: true, syscall.SIGABRT: true, syscall.SIGBUS: true,
	syscall.SIGFPE: true, syscall.SIGSEGV: true, syscall.SIGSYS: true, syscall.SIGSTKFLT: true,
	syscall.SIGCHLD: true, syscall.SIGURG: true, syscall.SIGPROF: true,
	syscall.SIGPIPE: true, syscall.SIGTTIN: true, syscall.SIGTTOU: true,
	32: true, 33: true, 34: true,
}

// ForwardedSignals lists every signal Run passes on to the child: all
// catchable ones, real-time included, except those listed in the package
// documentation.
func ForwardedSignals() []syscall.Signal {
	var out []syscall.Signal
	for sig := syscall.Signal(1); sig <= maxSignal; sig++ {
		if !notForwarded[sig] {
			out = append(out, sig)
		}
	}
	return out
}

// urgentSignals are subscribed before the child starts, because until then
// the Go runtime's default for them would end, crash or stop podkit and
// orphan the child. Every other signal is dropped by the Go runtime until
// its subscription completes, about 2 ms after the child started: a child
// that has not yet installed a handler would have died of it anyway.
// Subscribing costs a round trip to the runtime's signal thread per signal,
// so doing the 45 others after the start takes them off the start time.
//
// SIGPIPE, SIGTTIN and SIGTTOU are caught here but never forwarded, so they
// neither kill nor stop podkit. They are caught, not ignored, because the Go
// runtime resets handled signals to the default in the child, and would
// leave ignored ones ignored.
var urgentSignals = []syscall.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGTSTP,
	syscall.SIGPIPE, syscall.SIGTTIN, syscall.SIGTTOU,
}

// laterSignals are the forwarded signals that are not urgent.
func laterSignals() []os.Signal {
	var out []os.Signal
	for _, sig := range ForwardedSignals() {
		if !slices.Contains(urgentSignals, sig) {
			out = append(out, sig)
		}
	}
	return out
}

// Signals is a subscription to the signals Run handles.
type Signals struct {
	chld  chan os.Signal // SIGCHLD alone: one pending is enough, the reaper loops
	other chan os.Signal
	ready chan struct{} // closed once SIGCHLD and urgentSignals are subscribed
	all   chan struct{} // closed once every signal is
	sys   sys
}

// Subscribe subscribes the process to every signal Run handles (the
// forwarded ones, SIGCHLD, SIGPIPE, SIGTTIN and SIGTTOU) and returns at once:
// the subscription completes in the background, the urgent signals first.
// The Go runtime takes about 40 µs per signal, 2 ms for all of them, so a
// program that subscribes first does its other set-up meanwhile. Run waits
// for SIGCHLD and the urgent signals (see urgentSignals) before it starts the
// child, so none of those is lost; one that arrives before is handled once
// the child runs (SIGTERM: the stop begins at once).
//
// Pass the result as Config.Signals. A process that exits after Run may
// skip Stop, which costs as much again.
func Subscribe() *Signals { return subscribe(&realSys{}) }

func subscribe(sy sys) *Signals {
	s := &Signals{
		chld: make(chan os.Signal, 1), other: make(chan os.Signal, 64),
		ready: make(chan struct{}), all: make(chan struct{}), sys: sy,
	}
	go func() {
		defer close(s.all)
		sy.notify(s.chld, s.other, true)
		close(s.ready)
		sy.notify(s.chld, s.other, false)
	}()
	return s
}

// Stop ends the subscription: the signals take their default action again.
func (s *Signals) Stop() {
	<-s.all
	s.sys.stopNotify(s.chld, s.other)
}
