package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/podkit/podkit/internal/bench/benchkit"
)

// bins are the programs measured.
type bins struct {
	memcached, nutcracker, podkit string
}

// servers are the running processes of a bench, in start order.
type servers struct {
	dir       string
	memcached []*benchkit.Proc
	backends  []string         // the memcached addresses, in pool order
	procs     []*benchkit.Proc // everything started, stopped in reverse order
}

func (s *servers) stopAll() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].Stop()
	}
	s.procs = nil
}

// startListening starts a server on a fresh free port until one comes up:
// a port found free may be taken before the server binds it.
func (s *servers) startListening(start func(addr string) (*benchkit.Proc, error)) (*benchkit.Proc, string, error) {
	var last error
	for range 3 {
		addr, err := benchkit.FreeAddr("tcp")
		if err != nil {
			return nil, "", err
		}
		p, err := start(addr)
		if err != nil {
			return nil, "", err
		}
		s.procs = append(s.procs, p)
		if last = p.WaitTCP(addr); last == nil {
			return p, addr, nil
		}
		p.Stop()
	}
	return nil, "", last
}

// startMemcached starts the pool's two servers: one thread each, as a small
// pod's memcached would have, and no UDP.
func (s *servers) startMemcached(bin string, n int) error {
	for i := range n {
		name := fmt.Sprintf("memcached-%d", i)
		p, addr, err := s.startListening(func(addr string) (*benchkit.Proc, error) {
			_, port, _ := net.SplitHostPort(addr)
			args := []string{"-p", port, "-U", "0", "-l", "127.0.0.1", "-t", "1", "-m", "64"}
			if os.Geteuid() == 0 {
				args = append(args, "-u", "root") // memcached refuses root without it
			}
			return benchkit.Start(name, filepath.Join(s.dir, name+".log"), bin, args...)
		})
		if err != nil {
			return err
		}
		s.memcached = append(s.memcached, p)
		s.backends = append(s.backends, addr)
	}
	return nil
}

// poolYAML is the one twemproxy pool both proxies read; only the listen
// address differs between their copies.
func poolYAML(listen string, backends []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mcbench:\n  listen: %s\n  hash: fnv1a_64\n  distribution: ketama\n  timeout: 1000\n  server_connections: 1\n  servers:\n", listen)
	for _, addr := range backends {
		fmt.Fprintf(&b, "    - %s:1\n", addr)
	}
	return b.String()
}

func (s *servers) writePool(name, listen string) (string, error) {
	path := filepath.Join(s.dir, name+".yml")
	return path, os.WriteFile(path, []byte(poolYAML(listen, s.backends)), 0o644)
}

func (s *servers) startNutcracker(bin string) (*benchkit.Proc, string, error) {
	return s.startListening(func(addr string) (*benchkit.Proc, error) {
		conf, err := s.writePool("nutcracker", addr)
		if err != nil {
			return nil, err
		}
		stats, err := benchkit.FreeAddr("tcp")
		if err != nil {
			return nil, err
		}
		_, statsPort, _ := net.SplitHostPort(stats)
		// Stats, log and pid file of its own, so that it clashes with no
		// system nutcracker (defaults: port 22222, /var/log, /run).
		return benchkit.Start("nutcracker", filepath.Join(s.dir, "nutcracker.out"), bin,
			"-c", conf, "-s", statsPort, "-a", "127.0.0.1",
			"-o", filepath.Join(s.dir, "nutcracker.log"), "-p", filepath.Join(s.dir, "nutcracker.pid"))
	})
}

// startPodkit starts podkit memcache-proxy on the same pool and waits for
// /readyz as well as the listener: ready means a server is reachable.
func (s *servers) startPodkit(bin string) (*benchkit.Proc, string, error) {
	var admin string
	p, addr, err := s.startListening(func(addr string) (*benchkit.Proc, error) {
		conf, err := s.writePool("podkit", addr)
		if err != nil {
			return nil, err
		}
		if admin, err = benchkit.FreeAddr("tcp"); err != nil {
			return nil, err
		}
		return benchkit.Start("podkit", filepath.Join(s.dir, "podkit.log"), bin,
			"memcache-proxy", "--config", conf, "--admin-addr", admin)
	})
	if err != nil {
		return nil, "", err
	}
	if err := p.WaitHTTP("http://" + admin + "/readyz"); err != nil {
		return nil, "", err
	}
	return p, addr, nil
}
