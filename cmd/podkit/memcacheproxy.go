package main

import (
	"errors"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/podkit/podkit/internal/cli"
	"github.com/podkit/podkit/internal/daemon"
	memcacheproxy "github.com/podkit/podkit/pkg/memcache-proxy"
	"github.com/podkit/podkit/pkg/memcache-proxy/protocol"
	"github.com/podkit/podkit/pkg/memcache-proxy/twemconf"
)

func newMemcacheProxyCmd(a *app) *cobra.Command {
	var dcfg *daemon.Config
	f := &mcFlags{}
	cmd := &cobra.Command{
		Use:   "memcache-proxy",
		Short: "Ambassador: shards memcached keys over a pool exactly as twemproxy, read from its YAML or flags",
		Long: `memcache-proxy is a drop-in for twemproxy (nutcracker): the application talks
to one memcached on localhost, the proxy shards its keys over the pool. Every
key lands on the server nutcracker 0.5 would pick (all its hashes, ketama,
modula and random, names and weights), so a switch moves no key.

  --config FILE reads a twemproxy YAML file as it is (all its pools, or the
  one --pool names); unsupported keys (redis: true, ...) are an error. The
  file is re-read on SIGHUP and when it changes; a bad file is rejected and
  the running pools stay. Without --config, the flags define one pool.

Text protocol (get/gets/gat/gats multigets split per server and merged in
order, storage, cas, delete, incr/decr, touch) and meta protocol (mg, ms, md,
ma, me, mn), pipelined. With --auto-eject-hosts a failing server leaves the
ring after --server-failure-limit failures and rejoins when a version probe
succeeds; --auto-eject-drop answers its keys as misses instead of re-hashing.

Admin API: /readyz (a server of every pool reachable), /metrics
(podkit_memcache_proxy_*: per server requests, errors, timeouts, ejections,
in-flight, latency; per command; client connections).`,
		Example: `  podkit memcache-proxy --server 10.0.0.1:11211:1 --server '10.0.0.2:11211:1 cache-b'
  podkit memcache-proxy --listen 127.0.0.1:11211 --auto-eject-hosts \
    --server 'memcached-0.memcached:11211:1 memcached-0' --server 'memcached-1.memcached:11211:1 memcached-1'
  podkit memcache-proxy --config /etc/nutcracker/nutcracker.yml --pool alpha`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			scfg, err := f.config(cmd.Flags())
			if err != nil {
				return err
			}
			dcfg.Logger = a.log
			d, err := daemon.New(*dcfg)
			if err != nil {
				return err
			}
			scfg.Reload = d.ReloadSignals()
			scfg.Proxy.Logger = a.log.With("component", "memcache-proxy")
			scfg.Proxy.Registry = d.Admin().Registry()
			scfg.Proxy.ShutdownTimeout = dcfg.ShutdownTimeout
			svc, err := memcacheproxy.NewService(scfg)
			if err != nil {
				if te, ok := errors.AsType[*twemconf.Error](err); ok && te.File == "" && te.Flag() != "" {
					return cli.Usagef(strings.TrimPrefix(te.Flag(), "--"), "%v", te.Err)
				}
				return &cli.UsageError{Err: err}
			}
			if err := svc.Listen(); err != nil {
				return err
			}
			return d.Run(cmd.Context(), svc)
		},
	}
	dcfg = daemon.AddFlags(cmd.Flags(), cli.AdminMemcacheProxy)
	f.add(cmd.Flags())
	return cmd
}

type mcFlags struct {
	listen, hash, dist, hashTag, file, pool    string
	servers                                    []string
	timeout, retry, resolve, watch             time.Duration
	backlog, serverConns, failLimit, maxItem   int
	loops                                      int
	eject, drop, preconnect, keepalive, useTLS bool
	tls                                        memcacheproxy.TLSFiles
}

// poolFlags are the flags a --config file replaces.
var poolFlags = []string{"listen", "server", "hash", "distribution", "hash-tag", "timeout", "backlog", "server-connections",
	"auto-eject-hosts", "server-failure-limit", "server-retry-timeout", "preconnect", "tcpkeepalive"}

func (f *mcFlags) add(fs *pflag.FlagSet) {
	d := twemconf.DefaultPool()
	fs.StringVar(&f.file, "config", "", "twemproxy (nutcracker) YAML `FILE`; replaces the pool flags below")
	fs.StringVar(&f.pool, "pool", "", "with --config: run only this pool (default: every pool of the file)")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:11211", "client address: HOST:PORT, or /PATH[ PERM] for a unix socket")
	fs.StringArrayVar(&f.servers, "server", nil, "a memcached server, twemproxy's server line: HOST:PORT[:WEIGHT][ NAME] or /PATH[:WEIGHT][ NAME] (repeat; order matters for hashing)")
	fs.StringVar(&f.hash, "hash", d.Hash, "key hash: "+strings.Join(twemconf.Hashes(), ", "))
	fs.StringVar(&f.dist, "distribution", d.Distribution, "key distribution: ketama, modula or random")
	fs.StringVar(&f.hashTag, "hash-tag", "", "two characters: only the part of a key between them is hashed, e.g. {}")
	fs.DurationVar(&f.timeout, "timeout", time.Second, "a server's answer must come this long after the request was sent, else SERVER_ERROR (0: wait forever, twemproxy's default)")
	fs.IntVar(&f.backlog, "backlog", d.Backlog, "accepted for twemproxy compatibility; the kernel's somaxconn applies")
	fs.IntVar(&f.serverConns, "server-connections", d.ServerConnections, "connections to each server from each event loop (see --loops), shared by its clients")
	fs.BoolVar(&f.eject, "auto-eject-hosts", false, "take a server out of the ring after --server-failure-limit consecutive failures")
	fs.BoolVar(&f.drop, "auto-eject-drop", false, "fail fast: an ejected server's keys are answered as misses / SERVER_ERROR instead of re-hashed (no stale values after it returns)")
	fs.IntVar(&f.failLimit, "server-failure-limit", d.ServerFailureLimit, "consecutive failures that eject a server")
	fs.DurationVar(&f.retry, "server-retry-timeout", d.ServerRetryTimeout, "an ejected server is probed (version) after this, then with a doubling backoff; it rejoins when a probe succeeds")
	fs.BoolVar(&f.preconnect, "preconnect", false, "connect to every server at start")
	fs.BoolVar(&f.keepalive, "tcpkeepalive", false, "TCP keepalive on server connections")
	fs.IntVar(&f.loops, "loops", 0, "event loops serving clients, each with its own --server-connections per server (0: one per two CPUs, at most 4)")
	fs.IntVar(&f.maxItem, "max-item-size", protocol.DefaultMaxItemSize, "largest value in bytes; a larger set is refused as memcached does")
	fs.DurationVar(&f.resolve, "resolve-interval", memcacheproxy.DefaultResolveInterval, "look server host names up again this often; connections to a changed address are re-dialled (negative: never)")
	fs.DurationVar(&f.watch, "config-watch-interval", memcacheproxy.DefaultWatchInterval, "check --config for changes this often (negative: only on SIGHUP)")
	fs.BoolVar(&f.useTLS, "server-tls", false, "TLS to the servers (managed caches)")
	fs.StringVar(&f.tls.CAFile, "server-tls-ca", "", "PEM CA `FILE` to verify the servers (default: system roots)")
	fs.StringVar(&f.tls.CertFile, "server-tls-cert", "", "PEM client certificate `FILE`")
	fs.StringVar(&f.tls.KeyFile, "server-tls-key", "", "PEM client key `FILE`")
	fs.StringVar(&f.tls.ServerName, "server-tls-server-name", "", "name to verify in the servers' certificates (default: each server's host)")
}

// config turns the flags into a ServiceConfig; errors are usage errors.
func (f *mcFlags) config(fs *pflag.FlagSet) (memcacheproxy.ServiceConfig, error) {
	cfg := memcacheproxy.ServiceConfig{File: f.file, PoolName: f.pool, WatchInterval: f.watch}
	cfg.Proxy = memcacheproxy.Config{EjectDrop: f.drop, ResolveInterval: f.resolve, Loops: f.loops, Limits: protocol.Limits{MaxItemSize: f.maxItem}}
	if f.loops < 0 {
		return cfg, cli.Usagef("loops", "must be >= 0 (got %d)", f.loops)
	}
	if f.maxItem <= 0 {
		return cfg, cli.Usagef("max-item-size", "must be > 0 (got %d)", f.maxItem)
	}
	if f.resolve == 0 {
		return cfg, cli.Usagef("resolve-interval", "must not be 0 (negative: never)")
	}
	if f.useTLS {
		t, err := memcacheproxy.LoadTLS(f.tls)
		if err != nil {
			return cfg, cli.Usagef("server-tls", "%v", err)
		}
		cfg.Proxy.TLS = t
	} else if f.tls != (memcacheproxy.TLSFiles{}) {
		return cfg, cli.Usagef("server-tls", "the --server-tls-* flags need --server-tls")
	}
	if f.file != "" {
		for _, name := range poolFlags {
			if fs.Changed(name) {
				return cfg, cli.Usagef(name, "cannot be combined with --config: the file defines the pools")
			}
		}
		return cfg, nil
	}
	if f.pool != "" {
		return cfg, cli.Usagef("pool", "needs --config")
	}
	if len(f.servers) == 0 {
		return cfg, cli.Usagef("server", "at least one server is needed (or --config FILE)")
	}
	p := twemconf.DefaultPool()
	var err error
	if p.Listen, err = twemconf.ParseListen(f.listen); err != nil {
		return cfg, cli.Usagef("listen", "%v", errors.Unwrap(err))
	}
	for _, s := range f.servers {
		srv, err := twemconf.ParseServerFlag(s)
		if err != nil {
			return cfg, cli.Usagef("server", "%v", errors.Unwrap(err))
		}
		p.Servers = append(p.Servers, srv)
	}
	p.Hash, p.Distribution, p.HashTag, p.Timeout, p.Backlog = f.hash, f.dist, f.hashTag, f.timeout, f.backlog
	p.ServerConnections, p.AutoEjectHosts, p.ServerFailureLimit, p.ServerRetryTimeout = f.serverConns, f.eject || f.drop, f.failLimit, f.retry
	p.Preconnect, p.TCPKeepalive = f.preconnect, f.keepalive
	cfg.Pools = []twemconf.Pool{p}
	return cfg, nil
}
