package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// loadNice is the nice value mabench (the load generator) runs at when it
// may raise its priority (root): on a 2-core machine an overloaded server
// would otherwise starve the paced sender, which then sends below the rate
// asked and measures itself. The servers run at nice 0; the generator needs
// little CPU at a set rate, so this takes little from them, and the same
// from each.
const loadNice = -10

// setNice sets the nice value of every thread of pid (0: this process).
// Linux keeps nice per thread and a new thread inherits its creator's, so
// once every current thread has it, all later ones will.
func setNice(pid, nice int) error {
	dir := "/proc/self/task"
	if pid != 0 {
		dir = "/proc/" + strconv.Itoa(pid) + "/task"
	}
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil && err != syscall.ESRCH {
			return fmt.Errorf("setpriority %d: %w", tid, err)
		}
	}
	return nil
}
