package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/podkit/podkit/internal/bench/benchkit"
)

// treeRSSKiB is the sum of VmRSS over pid and its descendants at one
// instant (zombies and kernel threads have none).
func treeRSSKiB(pid int) int64 {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		if f := bytes.Fields(b[i+1:]); len(f) > 1 {
			if pp, err := strconv.Atoi(string(f[1])); err == nil {
				parent[p] = pp
			}
		}
	}
	in := map[int]bool{pid: true}
	for grew := true; grew; {
		grew = false
		for p, pp := range parent {
			if in[pp] && !in[p] {
				in[p], grew = true, true
			}
		}
	}
	var sum int64
	for p := range in {
		if kib, err := benchkit.StatusKiB(p, "VmRSS"); err == nil {
			sum += kib
		}
	}
	return sum
}

// sampler keeps the largest treeRSSKiB of a process seen every 50 ms: a
// scan of /proc, which more often would take a good share of a core from
// the targets on this small machine. It misses a child that lives less
// than that; the baseline's exact figure is its children's rusage.
type sampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	peak int64
}

// startSampler starts sampling pid's tree; the peak starts at from.
func startSampler(pid int, from int64) *sampler {
	s := &sampler{stop: make(chan struct{}), peak: from}
	s.wg.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			kib := treeRSSKiB(pid)
			s.mu.Lock()
			s.peak = max(s.peak, kib)
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	})
	return s
}

// pause stops sampling and returns the peak.
func (s *sampler) pause() int64 {
	close(s.stop)
	s.wg.Wait()
	return s.peak
}

// diskKiB is what `du -sk DIR` prints: the allocated blocks of everything
// under dir, each inode counted once (the hard links between podkit's
// trees are not counted twice).
func diskKiB(dir string) (int64, error) {
	type key struct{ dev, ino uint64 }
	seen := map[key]bool{}
	var blocks int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // removed under us: an old tree going
				return nil
			}
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		k := key{uint64(st.Dev), st.Ino}
		if !seen[k] {
			seen[k] = true
			blocks += st.Blocks
		}
		return nil
	})
	return blocks / 2, err // 512-byte blocks
}

// fsType names the file system holding dir.
func fsType(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "unknown"
	}
	switch uint64(st.Type) {
	case 0xEF53:
		return "ext4"
	case 0x01021994:
		return "tmpfs"
	case 0x9123683E:
		return "btrfs"
	case 0x58465342:
		return "xfs"
	case 0x794c7630:
		return "overlayfs"
	}
	return fmt.Sprintf("0x%x", uint64(st.Type))
}
