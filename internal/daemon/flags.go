package daemon

import (
	"time"

	"github.com/spf13/pflag"
)

// AddFlags defines the flags every daemon subcommand shares, with the
// subcommand's own default admin address, and returns the Config they fill.
func AddFlags(fs *pflag.FlagSet, defaultAdminAddr string) *Config {
	cfg := &Config{}
	fs.StringVar(&cfg.AdminAddr, "admin-addr", defaultAdminAddr,
		"admin HTTP server address (/healthz, /readyz, /metrics, /debug/pprof/); loopback unless you need otherwise")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 10*time.Second,
		"how long a graceful stop may take before the process exits anyway (exit 3)")
	return cfg
}
