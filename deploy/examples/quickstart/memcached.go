package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The memcache ambassador: podkit memcache-proxy in front of two memcached,
// which in Kubernetes would be the pods of a StatefulSet (see
// ../memcache-proxy). memcached is a Debian package, not part of podkit.

// memcacheConfig is the memcache part of the demo's config.
type memcacheConfig struct {
	mode    string    // -memcached: auto, off, or the binary's path
	bin     string    // the memcached binary; "" runs the demo without it
	skipped string    // why bin is "", for the demo to say
	servers [2]string // the two memcached, on free loopback ports
	listen  string    // podkit memcache-proxy --listen
	admin   string    // podkit memcache-proxy --admin-addr
}

// memcachedNames name the servers in the proxy's --server lines, so the
// ketama ring, and with it where each key goes, does not depend on the
// ports picked.
var memcachedNames = [2]string{"memcached-1", "memcached-2"}

const aptInstall = "apt-get install -y --no-install-recommends memcached"

// finder locates memcached, and installs it when it may: only as root, only
// with apt-get. Its fields are what it looks at, so tests can fake them.
type finder struct {
	path   string   // $PATH
	dirs   []string // also searched: where Debian's package puts it, which a PATH may lack
	root   bool
	aptGet string // apt-get's path; "" when there is none
	out    io.Writer
}

func newFinder(out io.Writer) finder {
	f := finder{path: os.Getenv("PATH"), dirs: []string{"/usr/bin", "/usr/sbin"}, root: os.Geteuid() == 0, out: out}
	f.aptGet, _ = exec.LookPath("apt-get")
	return f
}

// find returns memcached's path, or "" and why the demo goes without it.
func (f finder) find(ctx context.Context) (bin, skipped string) {
	if bin := f.look(); bin != "" {
		return bin, ""
	}
	where := "not found in $PATH or " + strings.Join(f.dirs, ", ")
	switch {
	case !f.root:
		return "", fmt.Sprintf("memcached %s, and the demo installs it only when run as root: `sudo %s`, then run the demo again", where, aptInstall)
	case f.aptGet == "":
		return "", fmt.Sprintf("memcached %s, and there is no apt-get to install it with: install memcached, then run the demo again", where)
	}
	fmt.Fprintf(f.out, "==> memcached %s: installing it: %s\n", where, aptInstall)
	err := f.apt(ctx, "install", "-y", "--no-install-recommends", "memcached")
	if err != nil && ctx.Err() == nil {
		// A fresh machine or image may have no package lists yet.
		fmt.Fprintf(f.out, "==> %s failed (%v): apt-get update, then once more\n", aptInstall, err)
		if err = f.apt(ctx, "update"); err == nil {
			err = f.apt(ctx, "install", "-y", "--no-install-recommends", "memcached")
		}
	}
	if err != nil {
		return "", fmt.Sprintf("installing memcached failed (%v); its output is above", err)
	}
	if bin := f.look(); bin != "" {
		fmt.Fprintf(f.out, "==> installed %s\n", bin)
		return bin, ""
	}
	return "", fmt.Sprintf("memcached still %s after %s", where, aptInstall)
}

func (f finder) look() string {
	for _, dir := range append(filepath.SplitList(f.path), f.dirs...) {
		if dir == "" {
			continue // a relative lookup in the current directory is no install
		}
		p := filepath.Join(dir, "memcached")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func (f finder) apt(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, f.aptGet, args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	cmd.Stdout, cmd.Stderr = f.out, f.out
	// Interrupted, apt-get stops the way it does on a terminal's Ctrl-C
	// rather than being killed in the middle of dpkg.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	return cmd.Run()
}

// resolveMemcache fills in cfg.mc: the binary, found or installed, or why
// there is none, and free ports for the two memcached and the proxy.
func (cfg *config) resolveMemcache(ctx context.Context, out io.Writer) error {
	mc := &cfg.mc
	switch mc.mode {
	case "off":
		mc.skipped = "-memcached off"
	case "auto":
		mc.bin, mc.skipped = newFinder(out).find(ctx)
	default:
		p, err := filepath.Abs(mc.mode)
		if err != nil {
			return err
		}
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("-memcached %s: not an executable file", mc.mode)
		}
		mc.bin = p
	}
	if mc.bin == "" {
		return nil
	}
	addrs, err := freePorts(4)
	if err != nil {
		return err
	}
	mc.servers = [2]string{addrs[0], addrs[1]}
	mc.listen, mc.admin = addrs[2], addrs[3]
	return nil
}

// freePorts returns n distinct loopback addresses that were free just now.
func freePorts(n int) ([]string, error) {
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close() // held until all are picked, so they differ
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// memcacheContainers are the two memcached and the proxy, started before
// the app as a native sidecar would be.
func memcacheContainers(cfg config) []container {
	mc := cfg.mc
	var specs []container
	// murmur: twemproxy's default hash, fnv1a_64, would put most of the
	// demo's keys on one server (see ../memcache-proxy/pod.yaml).
	proxy := []string{cfg.podkit, "memcache-proxy", "--admin-addr", mc.admin, "--log-format", "text",
		"--listen", mc.listen, "--hash", "murmur"}
	for i, addr := range mc.servers {
		_, port, _ := net.SplitHostPort(addr)
		specs = append(specs, container{
			name: memcachedNames[i],
			// -U 0: no UDP; -m 64: 64 MiB of items.
			argv:     []string{mc.bin, "-U", "0", "-l", "127.0.0.1", "-p", port, "-m", "64"},
			addr:     addr,
			external: true,
		})
		// twemproxy's server line: HOST:PORT:WEIGHT NAME.
		proxy = append(proxy, "--server", addr+":1 "+memcachedNames[i])
	}
	return append(specs, container{
		name:      "memcache-proxy",
		argv:      proxy,
		addr:      mc.admin,
		readyPath: "/readyz",
		also:      []port{{mc.listen, ""}},
		try: []string{
			`printf 'set greeting 0 0 5\r\nhello\r\nget greeting\r\nquit\r\n' | curl -s telnet://` + mc.listen,
			"curl 'http://" + mc.admin + "/readyz?verbose'",
			"curl -s http://" + mc.admin + "/metrics | grep podkit_memcache_proxy_server_requests_total",
		},
	})
}

// showMemcache shows the ambassador at work: the app caching through it,
// then keys set through the one proxy address landing on both memcached,
// each key on exactly one.
func showMemcache(ctx context.Context, cfg config, con *console) bool {
	ok := true
	fail := func(format string, a ...any) {
		con.printf("==> "+format+"\n", a...)
		ok = false
	}
	client := &http.Client{Timeout: probeTimeout}
	for range 2 {
		url := "http://" + cfg.appAddr + "/cache/quickstart"
		body, err := getBody(ctx, client, url)
		if err != nil {
			fail("app cache: %v", err)
			return ok || ctx.Err() != nil
		}
		con.printf("==> app cache: GET %s -> %s\n", url, body)
	}

	const n = 20
	m, err := mcDial(ctx, cfg.mc.listen)
	if err != nil {
		fail("memcache-proxy: %v", err)
		return ok || ctx.Err() != nil
	}
	defer m.Close()
	var servers [2]*mcConn
	for i, addr := range cfg.mc.servers {
		if servers[i], err = mcDial(ctx, addr); err != nil {
			fail("%s: %v", memcachedNames[i], err)
			return ok || ctx.Err() != nil
		}
		defer servers[i].Close()
	}
	var counts [2]int
	for k := range n {
		key := fmt.Sprintf("shard:%d", k)
		if err := m.set(key, []byte("v"), cacheTTL); err != nil {
			fail("memcache-proxy: set %s: %v", key, err)
			return ok || ctx.Err() != nil
		}
		var on []string
		for i, s := range servers {
			_, hit, err := s.get(key)
			if err != nil {
				fail("%s: get %s: %v", memcachedNames[i], key, err)
				return ok || ctx.Err() != nil
			}
			if hit {
				counts[i]++
				on = append(on, memcachedNames[i])
			}
		}
		if len(on) != 1 {
			fail("memcache-proxy: %s is on %d memcached (%v), want exactly 1", key, len(on), on)
		}
	}
	con.printf("==> memcache-proxy: %d keys set through %s: %d on %s, %d on %s\n",
		n, cfg.mc.listen, counts[0], memcachedNames[0], counts[1], memcachedNames[1])
	return ok || ctx.Err() != nil
}

func getBody(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = errors.New(resp.Status)
	}
	return strings.TrimSpace(string(b)), err
}
