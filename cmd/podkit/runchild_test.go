package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/podkit/podkit/pkg/supervisor"
)

// childEnv, when set, makes this test binary a child program for `podkit
// run` instead of running tests: see childMain. Its events go to the file
// events in the directory the test passes, one line each, so the test can
// wait for them (and check their order) without sleeping.
const childEnv = "RUNTEST_CHILD"

// init runs before TestMain, so a child never reaches the testing package.
func init() {
	if os.Getenv(childEnv) == "" {
		return
	}
	os.Exit(childMain(os.Args[1:]))
}

// childCmd is the argv that runs this test binary as a child program.
func childCmd(args ...string) []string {
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return append([]string{self}, args...)
}

// childMain runs one mode:
//
//	signals DIR NAME [OPTION...]  record every handled signal as "NAME SIGxxx"
//	                              (and print "NAME got SIGxxx" to stdout)
//	                              until one in exit-on arrives. Options:
//	  exit-on=TERM,INT  signals that end it (default TERM); none: none does
//	  code=N            exit code when it ends (default 0)
//	  group             first start a grandchild "signals DIR grandchild
//	                    exit-on=none" (in its process group) and wait for it
//	  orphans=N         first leave N orphans: each exits once reparented,
//	                    after recording "orphan exiting"
//	  print=N           print "out 1".."out N" to stdout and "err 1".."err N"
//	                    to stderr
//	  When set up it records "NAME ready pid=P ppid=Q" (as its namespace sees them).
//	event DIR TEXT                record TEXT and exit 0 (exec hooks)
//	hang DIR                      sleep until killed (a hanging hook or check)
//	intermediate DIR              start an orphan and exit at once
//	orphan DIR PPID               exit once its parent is no longer PPID
func childMain(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "runtest child: want MODE DIR ...")
		return 100
	}
	mode, dir, rest := args[0], args[1], args[2:]
	switch mode {
	case "signals":
		return childSignals(dir, rest)
	case "event":
		record(dir, strings.Join(rest, " "))
		return 0
	case "hang":
		select {}
	case "intermediate":
		argv := childCmd("orphan", dir, strconv.Itoa(os.Getpid()))
		cmd := exec.Command(argv[0], argv[1:]...)
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 101
		}
		return 0 // without waiting: the orphan is reparented
	case "orphan":
		ppid, _ := strconv.Atoi(rest[0]) // it may have exited already
		for deadline := time.Now().Add(20 * time.Second); os.Getppid() == ppid; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				return 102
			}
		}
		record(dir, "orphan exiting")
		return 0
	}
	fmt.Fprintln(os.Stderr, "runtest child: unknown mode", mode)
	return 100
}

// handled are the signals the signals mode catches.
var handled = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGQUIT, syscall.SIGWINCH}

func childSignals(dir string, opts []string) int {
	name, opts := opts[0], opts[1:]
	exitOn := []string{"SIGTERM"}
	code, orphans, lines, group := 0, 0, 0, false
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "exit-on":
			exitOn = nil
			for _, s := range strings.Split(v, ",") {
				exitOn = append(exitOn, "SIG"+s)
			}
		case "code":
			code, _ = strconv.Atoi(v)
		case "orphans":
			orphans, _ = strconv.Atoi(v)
		case "print":
			lines, _ = strconv.Atoi(v)
		case "group":
			group = true
		}
	}
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, handled...)
	if group {
		argv := childCmd("signals", dir, "grandchild", "exit-on=none")
		gc := exec.Command(argv[0], argv[1:]...)
		gc.Stdout, gc.Stderr = os.Stdout, os.Stderr
		if err := gc.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 101
		}
		if !waitRecorded(dir, "grandchild ready") {
			return 102
		}
	}
	for range orphans {
		argv := childCmd("intermediate", dir)
		if err := exec.Command(argv[0], argv[1:]...).Run(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 101
		}
	}
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(os.Stdout, "out %d\n", i)
		fmt.Fprintf(os.Stderr, "err %d\n", i)
	}
	record(dir, fmt.Sprintf("%s ready pid=%d ppid=%d", name, os.Getpid(), os.Getppid()))
	for sig := range ch {
		s := supervisor.SignalName(sig.(syscall.Signal))
		record(dir, name+" "+s)
		fmt.Printf("%s got %s\n", name, s)
		if slices.Contains(exitOn, s) {
			return code
		}
	}
	return 0
}

// record appends one line to DIR/events in a single write (O_APPEND), so
// lines from several processes never interleave.
func record(dir, line string) {
	f, err := os.OpenFile(filepath.Join(dir, "events"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		panic(err)
	}
}

func readEvents(dir string) []string {
	b, _ := os.ReadFile(filepath.Join(dir, "events"))
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// waitRecorded polls DIR/events for a line starting with prefix.
func waitRecorded(dir, prefix string) bool {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		for _, l := range readEvents(dir) {
			if strings.HasPrefix(l, prefix) {
				return true
			}
		}
	}
	return false
}
