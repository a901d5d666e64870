package load

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// UDPDrops sums the kernel's drop counter (the last column of /proc/net/udp
// and udp6) over every socket bound to local port port: all the
// SO_REUSEPORT readers of a server. Datagrams, not lines.
func UDPDrops(port int) (uint64, error) {
	var total uint64
	found := false
	for _, path := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		f, err := os.Open(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return 0, err
		}
		n, ok, err := parseUDPDrops(f, port)
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		total, found = total+n, found || ok
	}
	if !found {
		return 0, fmt.Errorf("no UDP socket bound to port %d", port)
	}
	return total, nil
}

func parseUDPDrops(f *os.File, port int) (uint64, bool, error) {
	var total uint64
	found := false
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		fl := strings.Fields(sc.Text())
		if first || len(fl) < 13 {
			continue
		}
		_, hexPort, ok := strings.Cut(fl[1], ":")
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if !ok || err != nil || int(p) != port {
			continue
		}
		d, err := strconv.ParseUint(fl[len(fl)-1], 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("drops %q: %w", fl[len(fl)-1], err)
		}
		total, found = total+d, true
	}
	return total, found, sc.Err()
}
