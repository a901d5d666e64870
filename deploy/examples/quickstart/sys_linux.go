package main

import "syscall"

func sysProcAttr() *syscall.SysProcAttr {
	// Pdeathsig: if the runner itself is killed (kill -9, a closed
	// terminal), the containers still get their SIGTERM.
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
