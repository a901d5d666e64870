package supervisor

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"time"
)

// userHZ is the unit of /proc/PID/stat's CPU times: USER_HZ is 100 on every
// Linux architecture Go supports (procfs assumes the same).
const userHZ = 100

// procStat is what /proc/PID/stat and /proc/PID/fd say about a process.
type procStat struct {
	cpu    time.Duration // user + system, its own and its waited-for children's
	rss    int64         // bytes
	openFD int           // -1 when unreadable
}

// readProcStat reads /proc/<pid>/stat and counts /proc/<pid>/fd.
func readProcStat(proc string, pid int) (procStat, error) {
	dir := proc + "/" + strconv.Itoa(pid)
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return procStat{}, err
	}
	st, err := parseProcStat(b)
	if err != nil {
		return procStat{}, err
	}
	st.openFD = -1
	if f, err := os.Open(dir + "/fd"); err == nil {
		names, err := f.Readdirnames(-1)
		if err == nil {
			st.openFD = len(names)
		}
		f.Close()
	}
	return st, nil
}

// parseProcStat reads fields 14-17 (utime, stime, cutime, cstime) and 24
// (rss, in pages) of /proc/PID/stat (proc(5)). The command name in field 2
// may hold spaces and parentheses, so fields are counted from the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("proc stat: no command field")
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3 (state)
	const first = 3
	if len(f) < 24-first+1 {
		return procStat{}, errors.New("proc stat: too few fields")
	}
	num := func(field int) (int64, error) { return strconv.ParseInt(string(f[field-first]), 10, 64) }
	var ticks int64
	for field := 14; field <= 17; field++ {
		n, err := num(field)
		if err != nil {
			return procStat{}, err
		}
		ticks += n
	}
	rss, err := num(24)
	if err != nil {
		return procStat{}, err
	}
	return procStat{
		cpu: time.Duration(ticks) * (time.Second / userHZ),
		rss: rss * int64(os.Getpagesize()),
	}, nil
}
