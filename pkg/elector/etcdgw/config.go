package etcdgw

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config says which etcd members to talk to and how.
type Config struct {
	// Endpoints are the client URLs of the etcd members (http:// or
	// https://, no path), tried in order: on a connection error the client
	// moves to the next one and stays there. Required.
	Endpoints []string
	// Username and Password authenticate to an etcd with auth enabled
	// ("": no authentication). The password is sent only to
	// /v3/auth/authenticate, and never appears in errors or logs.
	Username string
	Password Secret
	// TLS configures https:// endpoints (client certificates, CA); nil:
	// the system roots. Only without HTTPClient.
	TLS *tls.Config
	// HTTPClient replaces the client's own (nil: one with its own
	// transport, no proxy). Its Timeout must be 0: watches are long-lived
	// responses; RequestTimeout bounds everything else.
	HTTPClient *http.Client
	// RequestTimeout bounds one attempt against one endpoint (for a watch:
	// until the watch is created); 0 means 5s. The caller's context bounds
	// the whole call, failover included.
	RequestTimeout time.Duration
}

// Secret is a password: it prints and logs as REDACTED.
type Secret string

// String implements fmt.Stringer.
func (Secret) String() string { return "REDACTED" }

// GoString implements fmt.GoStringer (%#v).
func (Secret) GoString() string { return `"REDACTED"` }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

const defaultRequestTimeout = 5 * time.Second

// validate checks cfg and returns the endpoints without a trailing slash.
func (cfg *Config) validate() ([]string, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("etcdgw: Endpoints: required")
	}
	eps := make([]string, 0, len(cfg.Endpoints))
	for i, e := range cfg.Endpoints {
		u, err := url.Parse(e)
		if err != nil {
			// url.Parse errors quote the input, which may hold a password.
			return nil, fmt.Errorf("etcdgw: Endpoints[%d]: not a URL", i)
		}
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			return nil, fmt.Errorf("etcdgw: Endpoints[%d]: scheme must be http or https (got %q)", i, u.Scheme)
		case u.User != nil:
			return nil, fmt.Errorf("etcdgw: Endpoints[%d]: %s: credentials belong in Username and Password", i, u.Redacted())
		case u.Host == "":
			return nil, fmt.Errorf("etcdgw: Endpoints[%d]: %s: no host", i, u.Redacted())
		case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
			return nil, fmt.Errorf("etcdgw: Endpoints[%d]: %s: want scheme://host:port only", i, u.Redacted())
		}
		eps = append(eps, strings.TrimSuffix(u.String(), "/"))
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, fmt.Errorf("etcdgw: Password: set without Username")
	}
	if cfg.TLS != nil && cfg.HTTPClient != nil {
		return nil, fmt.Errorf("etcdgw: TLS: set it in HTTPClient's transport instead (both set)")
	}
	if cfg.HTTPClient != nil && cfg.HTTPClient.Timeout != 0 {
		return nil, fmt.Errorf("etcdgw: HTTPClient: Timeout must be 0 (got %s): it would cut watches; use RequestTimeout", cfg.HTTPClient.Timeout)
	}
	if cfg.RequestTimeout < 0 {
		return nil, fmt.Errorf("etcdgw: RequestTimeout: must be >= 0 (got %s)", cfg.RequestTimeout)
	}
	return eps, nil
}
