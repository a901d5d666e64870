package memcacheproxy

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podkit/podkit/pkg/memcache-proxy/protocol"
	"github.com/podkit/podkit/pkg/memcache-proxy/twemconf"
)

// Defaults of the Config fields twemproxy has no setting for.
const (
	// DefaultShutdownTimeout bounds how long Serve waits, once its context
	// is done, for clients' pending responses before closing their
	// connections.
	DefaultShutdownTimeout = 5 * time.Second
	// DefaultResolveInterval is how often server host names are looked up
	// again: Kubernetes gives a rescheduled pod a new IP under the same name.
	DefaultResolveInterval = 30 * time.Second
	// DefaultProbeTimeout bounds a health probe when the pool has no
	// timeout.
	DefaultProbeTimeout = time.Second
	// maxProbeBackoff caps the wait between probes of a server that keeps
	// failing them (it never drops below the pool's server_retry_timeout).
	maxProbeBackoff = 5 * time.Minute
	// unreachableProbe is the first wait between probes of a server that is
	// not ejected but not reachable either (readiness depends on it).
	unreachableProbe = time.Second
)

// Config configures a Proxy.
type Config struct {
	// Pool is the server pool, with twemproxy's meaning for every field;
	// Listen is the caller's business (Serve takes a listener) and
	// ClientConnections is not enforced, as in twemproxy. Start from
	// twemconf.DefaultPool.
	Pool   twemconf.Pool
	Limits protocol.Limits // zero fields take protocol's defaults

	// EjectDrop is the fail-fast variant of Pool.AutoEjectHosts: an
	// ejected server's keys are answered SERVER_ERROR (clients see misses)
	// instead of being re-hashed onto the other servers, where they could
	// read values that went stale while the server was away.
	EjectDrop bool

	// TLS, when not nil, is used for every server connection (managed
	// caches); ServerName defaults to each server's host.
	TLS *tls.Config

	// Loops is the number of event loops serving clients, each with its
	// own Pool.ServerConnections connections per server; 0 means
	// DefaultLoops().
	Loops int

	ResolveInterval time.Duration         // 0: DefaultResolveInterval; < 0: never re-resolve
	ShutdownTimeout time.Duration         // 0: DefaultShutdownTimeout
	Logger          *slog.Logger          // nil: slog.Default()
	Registry        prometheus.Registerer // nil: metrics not registered
}

func (cfg *Config) validate() error {
	if err := cfg.Pool.Validate(); err != nil {
		return err
	}
	if err := cfg.checkTemplate(); err != nil {
		return err
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.ResolveInterval == 0 {
		cfg.ResolveInterval = DefaultResolveInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return nil
}

// checkTemplate checks the fields that do not depend on the pool: what a
// Service checks once for all its pools.
func (cfg *Config) checkTemplate() error {
	if err := cfg.Limits.Validate(); err != nil {
		return fmt.Errorf("limits: %w", err)
	}
	if cfg.ShutdownTimeout < 0 {
		return fmt.Errorf("shutdown timeout: must be >= 0 (got %s)", cfg.ShutdownTimeout)
	}
	if cfg.Loops < 0 {
		return fmt.Errorf("loops: must be >= 0 (got %d)", cfg.Loops)
	}
	return nil
}
