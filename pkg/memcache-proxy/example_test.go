package memcacheproxy_test

import (
	"context"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	memcacheproxy "github.com/podkit/podkit/pkg/memcache-proxy"
	"github.com/podkit/podkit/pkg/memcache-proxy/twemconf"
)

// One pool built in code, served until the context ends.
func ExampleNew() {
	pool := twemconf.DefaultPool()
	pool.Listen, _ = twemconf.ParseListen("127.0.0.1:11211")
	for _, line := range []string{"10.0.0.1:11211:1 cache-a", "10.0.0.2:11211:1 cache-b"} {
		s, err := twemconf.ParseServerFlag(line)
		if err != nil {
			log.Fatal(err)
		}
		pool.Servers = append(pool.Servers, s)
	}
	pool.AutoEjectHosts = true
	p, err := memcacheproxy.New(memcacheproxy.Config{Pool: pool, Registry: prometheus.NewRegistry()})
	if err != nil {
		log.Fatal(err)
	}
	l, err := memcacheproxy.Listen(pool)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := p.Serve(ctx, l); err != nil {
		log.Fatal(err)
	}
}

// The pools of a twemproxy file, reloaded on SIGHUP and when the file
// changes.
func ExampleNewService() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	s, err := memcacheproxy.NewService(memcacheproxy.ServiceConfig{
		File:   "/etc/nutcracker/nutcracker.yml",
		Reload: hup,
		Proxy:  memcacheproxy.Config{Logger: slog.Default()},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
}
