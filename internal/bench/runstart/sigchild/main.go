// Command sigchild is the child internal/bench/runstart starts, built by it
// into a temporary directory. With "exit" it returns at once: the start and
// exit of a bare static Go binary. With a FIFO path it installs its SIGUSR1
// handler, writes "ready PID\n" to the FIFO, then one byte per SIGUSR1: the
// moment its handler ran, as the bench sees it. It exits on SIGTERM (the
// default action), or by itself after -idle without a signal, so that no
// child outlives a bench that died.
package main

import (
	"flag"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	idle := flag.Duration("idle", 2*time.Minute, "exit after this long without a signal")
	flag.Parse()
	if flag.NArg() != 1 || flag.Arg(0) == "exit" {
		return
	}
	// Raw syscalls, not *os.File: a FIFO would go through the netpoller.
	fd, err := syscall.Open(flag.Arg(0), syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		os.Exit(1)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	if _, err := syscall.Write(fd, []byte("ready "+strconv.Itoa(os.Getpid())+"\n")); err != nil {
		os.Exit(1)
	}
	one := []byte{'!'}
	t := time.NewTimer(*idle)
	for {
		select {
		case <-sigs:
			if _, err := syscall.Write(fd, one); err != nil {
				os.Exit(1)
			}
			t.Reset(*idle)
		case <-t.C:
			os.Exit(1)
		}
	}
}
