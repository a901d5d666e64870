package cli

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// TrimExecutable drops this process's mappings of its own executable's
// read-only pages (code and constants), so that only the pages it goes on
// using come back. Starting up touches most of a 10 MiB binary, and the
// kernel maps file pages in 64 KiB runs around each fault, so an idle
// podkit daemon otherwise keeps about 9 MiB of the binary in its RSS for
// good; what an idle daemon uses again is a small part of it. The pages stay
// in the page cache, so the ones used again come back without I/O. Writable
// mappings are left alone: dropping them would lose their data. It returns
// the bytes of address space advised; errors only mean nothing was trimmed.
func TrimExecutable() (int, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	total := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00909000 r-xp 00000000 fe:00 9994249 /path/to/podkit
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 || fs[5] != exe || strings.ContainsRune(fs[1], 'w') {
			continue
		}
		lo, hi, ok := strings.Cut(fs[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			continue
		}
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED); e != 0 {
			return total, e
		}
		total += int(end - start)
	}
	return total, sc.Err()
}
