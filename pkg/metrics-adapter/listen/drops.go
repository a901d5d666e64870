package listen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// KernelStats are the kernel's counters for the Listener's UDP sockets,
// summed, as /proc/net/udp and /proc/net/udp6 show them.
type KernelStats struct {
	// Drops counts datagrams the kernel dropped, nearly always because a
	// socket's receive buffer was full: the readers fell behind. A
	// counter (for podkit_metrics_adapter_udp_kernel_drops_total).
	Drops uint64
	// Queued is the bytes waiting in the receive buffers now (rx_queue),
	// a gauge: near Sockets×RcvBuf means drops are imminent.
	Queued uint64
	// Sockets is how many of the Listener's UDP sockets were found.
	Sockets int
}

// ErrNoProcNetUDP is returned by KernelStats when neither /proc/net/udp nor
// /proc/net/udp6 can be read (no procfs, or a sandbox without them).
var ErrNoProcNetUDP = errors.New("listen: /proc/net/udp: not readable")

// procNetUDP are the files KernelStats reads; each lists the sockets of
// the reader's network namespace. A dual-stack socket bound to [::] is in
// udp6.
var procNetUDP = []string{"/proc/net/udp", "/proc/net/udp6"}

// KernelStats reads the kernel's drop and queue counters of the UDP
// sockets. It reads two small files (one line per UDP socket in the
// network namespace): poll it at scrape time, not per packet.
func (l *Listener) KernelStats() (KernelStats, error) {
	var ks KernelStats
	if len(l.udp) == 0 {
		return ks, nil
	}
	inodes := make(map[uint64]bool, len(l.udp))
	for _, s := range l.udp {
		inodes[s.info.Inode] = true
	}
	var read int
	for _, name := range procNetUDP {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		err = scanProcNetUDP(f, func(e procEntry) {
			if inodes[e.inode] {
				ks.Drops += e.drops
				ks.Queued += e.rxQueue
				ks.Sockets++
			}
		})
		f.Close()
		if err != nil {
			return ks, fmt.Errorf("listen: %s: %w", name, err)
		}
		read++
	}
	if read == 0 {
		return ks, ErrNoProcNetUDP
	}
	return ks, nil
}

// foreignSameAddr returns the inode of a socket not in ours bound to the
// same local address as one of ours, or 0.
func foreignSameAddr(ours map[uint64]bool) (uint64, error) {
	var read int
	var other uint64
	for _, name := range procNetUDP {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		read++
		addrs := make(map[string]bool)
		var all []procEntry
		if err := scanProcNetUDP(bytes.NewReader(b), func(e procEntry) {
			if ours[e.inode] {
				addrs[e.local] = true
			}
			all = append(all, e)
		}); err != nil {
			return 0, err
		}
		for _, e := range all {
			if addrs[e.local] && !ours[e.inode] {
				other = e.inode
			}
		}
	}
	if read == 0 {
		return 0, ErrNoProcNetUDP
	}
	return other, nil
}

// procEntry is one socket line of /proc/net/udp{,6}.
type procEntry struct {
	local   string // "0100007F:238D" (hex, as printed)
	rxQueue uint64
	inode   uint64
	drops   uint64
}

// scanProcNetUDP parses the format of the kernel's udp4_format_sock and
// udp6_sock_seq_show:
//
//	sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
//
// The header line is skipped; a line that does not parse is an error.
func scanProcNetUDP(r io.Reader, f func(procEntry)) error {
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		fields := bytes.Fields(sc.Bytes())
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 13 {
			return fmt.Errorf("line %q: want 13 fields", sc.Bytes())
		}
		var e procEntry
		e.local = string(fields[1])
		_, rxq, ok := bytes.Cut(fields[4], []byte{':'})
		if !ok {
			return fmt.Errorf("line %q: tx_queue:rx_queue", sc.Bytes())
		}
		var err error
		if e.rxQueue, err = strconv.ParseUint(string(rxq), 16, 64); err != nil {
			return fmt.Errorf("rx_queue: %w", err)
		}
		if e.inode, err = strconv.ParseUint(string(fields[9]), 10, 64); err != nil {
			return fmt.Errorf("inode: %w", err)
		}
		if e.drops, err = strconv.ParseUint(string(fields[12]), 10, 64); err != nil {
			return fmt.Errorf("drops: %w", err)
		}
		f(e)
	}
	return sc.Err()
}
