// Command footprint measures what one idle podkit sidecar costs, the figure
// multiplied by every pod of a fleet: binary size, start-to-ready time and
// idle memory. Runs alternate and report medians, since this machine is
// small and noisy. `make bench` runs it.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "bin/podkit", "podkit binary to measure")
	runs := flag.Int("runs", 100, "starts to time")
	procs := flag.Int("procs", 5, "idle daemons to sample memory from")
	idle := flag.Duration("idle", 3*time.Second, "how long daemons idle before memory is read")
	flag.Parse()
	if err := measure(*bin, *runs, *procs, *idle); err != nil {
		fmt.Fprintln(os.Stderr, "footprint:", err)
		os.Exit(1)
	}
}

func measure(bin string, runs, procs int, idle time.Duration) error {
	st, err := os.Stat(bin)
	if err != nil {
		return fmt.Errorf("%w (run make build)", err)
	}
	fmt.Printf("binary %s: %.1f MiB\n\n", bin, float64(st.Size())/(1<<20))

	var ready, exit []time.Duration
	for range runs {
		// Alternate the two measurements so drift hits both alike.
		d, err := startToReady(bin)
		if err != nil {
			return err
		}
		ready = append(ready, d)
		d, err = startToExit(bin, "version")
		if err != nil {
			return err
		}
		exit = append(exit, d)
	}
	fmt.Printf("%-36s %10s %10s %10s   (%d runs)\n", "timing", "median", "p10", "p90", runs)
	row := func(name string, ds []time.Duration) {
		slices.Sort(ds)
		fmt.Printf("%-36s %10s %10s %10s\n", name, ms(ds[len(ds)/2]), ms(ds[len(ds)/10]), ms(ds[len(ds)*9/10]))
	}
	row("podkit health: start to /readyz 200", ready)
	row("podkit version: start to exit", exit)

	idleMem, scraped, err := memory(bin, procs, idle)
	if err != nil {
		return err
	}
	fmt.Printf("\n%-36s %10s %10s %10s   (median of %d daemons)\n", "memory of podkit health", "VmRSS", "RssAnon", "RssFile", procs)
	fmt.Printf("%-36s %10s %10s %10s\n", fmt.Sprintf("idle %s", idle), mib(idleMem[0]), mib(idleMem[1]), mib(idleMem[2]))
	fmt.Printf("%-36s %10s %10s %10s\n", "after one /metrics scrape", mib(scraped[0]), mib(scraped[1]), mib(scraped[2]))
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
func mib(kb int) string         { return fmt.Sprintf("%.1f MiB", float64(kb)/1024) }
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

type daemon struct {
	cmd  *exec.Cmd
	addr string
}

func start(bin string) (*daemon, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "health", "--admin-addr", addr, "--log-level", "warn")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &daemon{cmd, addr}, nil
}

// waitReady polls /readyz tightly; the poll interval bounds the error.
func (d *daemon) waitReady() error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get("http://" + d.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
	return fmt.Errorf("podkit health on %s not ready after 10s", d.addr)
}

func (d *daemon) stop() error {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		return fmt.Errorf("podkit health exit: %w", err)
	}
	return nil
}

func startToReady(bin string) (time.Duration, error) {
	t0 := time.Now()
	d, err := start(bin)
	if err != nil {
		return 0, err
	}
	if err := d.waitReady(); err != nil {
		_ = d.cmd.Process.Kill()
		return 0, err
	}
	took := time.Since(t0)
	return took, d.stop()
}

func startToExit(bin string, args ...string) (time.Duration, error) {
	t0 := time.Now()
	if err := exec.Command(bin, args...).Run(); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// memory returns the median VmRSS, RssAnon and RssFile in KiB: first idle,
// then after one /metrics scrape. RssFile is the binary's pages, shared in
// the page cache by every podkit container on a node that runs the same image.
func memory(bin string, n int, idle time.Duration) (idleMem, scraped [3]int, err error) {
	var ds []*daemon
	defer func() {
		for _, d := range ds {
			_ = d.stop()
		}
	}()
	for range n {
		d, err := start(bin)
		if err != nil {
			return idleMem, scraped, err
		}
		ds = append(ds, d)
		if err := d.waitReady(); err != nil {
			return idleMem, scraped, err
		}
	}
	time.Sleep(idle)
	if idleMem, err = sample(ds); err != nil {
		return idleMem, scraped, err
	}
	for _, d := range ds {
		resp, err := http.Get("http://" + d.addr + "/metrics")
		if err != nil {
			return idleMem, scraped, err
		}
		resp.Body.Close()
	}
	time.Sleep(idle)
	scraped, err = sample(ds)
	return idleMem, scraped, err
}

func sample(ds []*daemon) ([3]int, error) {
	var cols [3][]int
	for _, d := range ds {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
		if err != nil {
			return [3]int{}, err
		}
		for i, key := range []string{"VmRSS:", "RssAnon:", "RssFile:"} {
			cols[i] = append(cols[i], field(string(b), key))
		}
	}
	var med [3]int
	for i := range cols {
		slices.Sort(cols[i])
		med[i] = cols[i][len(cols[i])/2]
	}
	return med, nil
}

func field(status, key string) int {
	for line := range strings.Lines(status) {
		if rest, ok := strings.CutPrefix(line, key); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.Atoi(f[0])
				return n
			}
		}
	}
	return 0
}
