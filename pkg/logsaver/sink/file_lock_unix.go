//go:build unix

package sink

import (
	"os"
	"syscall"
)

// tryLock takes an exclusive flock on f without waiting. It reports false
// only if another open file holds it; where flock is unsupported it reports
// true, so files are still written and recovered.
func tryLock(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return true
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) {
		lerr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
	}); err != nil {
		return true
	}
	return lerr != syscall.EWOULDBLOCK
}
