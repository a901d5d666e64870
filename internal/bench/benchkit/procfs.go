package benchkit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100
// on every Linux architecture Go supports (sysconf(_SC_CLK_TCK) needs cgo).
const clockTicks = 100

// CPU returns the CPU time (user + system, all threads) process pid has
// used so far, from /proc/PID/stat, to the 10 ms tick. A driver samples its
// target before and after a run.
func CPU(pid int) (time.Duration, error) { return statTimes(pid, 2) }

// CPUWithChildren is CPU plus the CPU of the children pid has waited for
// (cutime and cstime): the cost of a driver that runs tools.
func CPUWithChildren(pid int) (time.Duration, error) { return statTimes(pid, 4) }

// statTimes sums n of the times starting at utime (field 14) of
// /proc/PID/stat: utime, stime, cutime, cstime.
func statTimes(pid, n int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command (field 2) is in parentheses and may hold spaces; utime is
	// field 14, the 12th after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 11+n {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the command", pid, len(f))
	}
	var sum int64
	for _, v := range f[11 : 11+n] {
		t, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: bad time %q", pid, v)
		}
		sum += t
	}
	return time.Duration(sum) * time.Second / clockTicks, nil
}

// SelfCPU returns this process's user and system CPU time (getrusage).
func SelfCPU() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// RSSKiB returns VmRSS of pid from /proc/PID/status, in KiB.
func RSSKiB(pid int) (int64, error) { return StatusKiB(pid, "VmRSS") }

// StatusKiB returns a kB field of /proc/PID/status ("VmRSS", "VmHWM").
func StatusKiB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte(field+":")); ok {
			if f := bytes.Fields(rest); len(f) > 0 {
				return strconv.ParseInt(string(f[0]), 10, 64)
			}
		}
	}
	return 0, errors.New("no " + field + " in /proc/" + strconv.Itoa(pid) + "/status")
}
