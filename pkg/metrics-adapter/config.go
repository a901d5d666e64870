package metricsadapter

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podkit/podkit/pkg/metrics-adapter/graphite"
	"github.com/podkit/podkit/pkg/metrics-adapter/mapping"
	"github.com/podkit/podkit/pkg/metrics-adapter/statsd"
)

// Defaults.
const (
	DefaultStatsdUDPAddr = "127.0.0.1:9125" // statsd_exporter's port, on loopback
	DefaultMetricsAddr   = "127.0.0.1:9102" // statsd_exporter's port, on loopback
	// DefaultMaxSeries bounds the store: about 160 bytes per counter series,
	// so the default costs at most ~80 MB of counters.
	DefaultMaxSeries = 500_000
	// DefaultMappingCache is the number of statsd names whose mapping the
	// readers remember, all together (statsd_exporter's
	// --statsd.cache-size is 1000): a few MB at most.
	DefaultMappingCache = 20_000
)

// Config configures an Adapter. Inputs with an empty address are off.
type Config struct {
	StatsdUDPAddr      string      // host:port
	StatsdTCPAddr      string      // host:port
	StatsdUnixgramPath string      // socket file
	StatsdUnixgramMode os.FileMode // 0: 0o755
	// ReadBuffer is SO_RCVBUF for each UDP and unixgram socket; 0: 4 MiB,
	// < 0: the OS default (statsd_exporter's). See listen.Config.
	ReadBuffer int
	// UDPSockets is the number of SO_REUSEPORT sockets; 0: GOMAXPROCS.
	UDPSockets int
	// StatsdDisabledTags are the tag dialects not parsed; 0: all four
	// parsed (statsd_exporter's default).
	StatsdDisabledTags statsd.Dialect
	// StatsdSets takes statsd sets ("name:member|s"), which
	// statsd_exporter rejects: each is a gauge of the distinct members of
	// the last StatsdSetWindow (0: DefaultSetWindow), as statsd flushes
	// them.
	StatsdSets      bool
	StatsdSetWindow time.Duration
	// StatsdLimits bound lines and packets; zero fields: statsd's defaults.
	StatsdLimits statsd.Limits

	// MappingFile is statsd_exporter's mapping YAML, re-read on Reload;
	// "": Mapping, or no mapping (every name escaped, as statsd_exporter
	// does without one).
	MappingFile string
	// Mapping is a compiled mapping for library use; ignored with
	// MappingFile.
	Mapping *mapping.Mapper
	// MappingCache bounds the mapping results cached by all readers
	// together; 0: DefaultMappingCache.
	MappingCache int

	// GraphiteAddr takes Graphite plaintext over TCP and UDP ("": off).
	GraphiteAddr string
	// GraphiteMappingFile is the mapping for Graphite paths (the same
	// format, graphite_exporter's --graphite.mapping-config); "":
	// GraphiteMapping, or none.
	GraphiteMappingFile string
	GraphiteMapping     *mapping.Mapper
	// GraphiteStrictMatch drops paths no mapping matches.
	GraphiteStrictMatch bool
	// GraphiteSampleExpiry hides a Graphite sample once its timestamp is
	// this old; 0: graphite.DefaultSampleExpiry (5m).
	GraphiteSampleExpiry time.Duration

	// ScrapeFile lists the endpoints to scrape (see package scrape);
	// Scrapes are `NAME=URL` values merged into it (--scrape). Either
	// alone works; re-read on Reload.
	ScrapeFile string
	Scrapes    []string

	// MaxSeries caps the series held; a sample that would create one more
	// is dropped and counted, existing series keep updating. 0:
	// DefaultMaxSeries; < 0: no limit.
	MaxSeries int

	// MetricsAddr is where /metrics is served (Prometheus text and
	// OpenMetrics); "": not served, the caller mounts Handler.
	MetricsAddr string

	// WatchInterval is how often the files (MappingFile,
	// GraphiteMappingFile, ScrapeFile) are checked for changes (0: 2s,
	// < 0: never); Reload (SIGHUP) re-reads them too.
	WatchInterval time.Duration
	Reload        <-chan os.Signal

	Logger *slog.Logger // nil: slog.Default()
	// Registry receives the adapter's own podkit_metrics_adapter_*
	// metrics; nil: a private one. Its metrics are also served on
	// /metrics after the adapted ones, as statsd_exporter serves its own.
	Registry *prometheus.Registry
}

// OptionError is an invalid Config field. Option names it as the podkit
// metrics-adapter flag does, so the command can point at the flag.
type OptionError struct {
	Option string
	Err    error
}

func (e *OptionError) Error() string { return "metrics-adapter: " + e.Option + ": " + e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

func optErr(option, format string, a ...any) error {
	return &OptionError{Option: option, Err: fmt.Errorf(format, a...)}
}

func (c *Config) defaults() error {
	if c.StatsdUDPAddr == "" && c.StatsdTCPAddr == "" && c.StatsdUnixgramPath == "" && c.GraphiteAddr == "" &&
		c.ScrapeFile == "" && len(c.Scrapes) == 0 {
		return optErr("statsd-udp-addr", "no input: give a statsd UDP, TCP or unixgram address, a graphite address or a scrape")
	}
	if c.GraphiteAddr == "" && (c.GraphiteMappingFile != "" || c.GraphiteMapping != nil || c.GraphiteStrictMatch) {
		return optErr("graphite-mapping-config", "needs a graphite address")
	}
	if c.UDPSockets < 0 || c.UDPSockets > 256 {
		return optErr("udp-sockets", "must be 0..256 (got %d)", c.UDPSockets)
	}
	for _, d := range []struct {
		option string
		v      *time.Duration
		def    time.Duration
	}{{"statsd-set-window", &c.StatsdSetWindow, DefaultSetWindow}, {"graphite-sample-expiry", &c.GraphiteSampleExpiry, graphite.DefaultSampleExpiry}} {
		if *d.v < 0 {
			return optErr(d.option, "must be > 0 (got %s)", *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.MappingCache < 0 {
		return optErr("mapping-cache-size", "must be > 0 (got %d)", c.MappingCache)
	}
	if c.MappingCache == 0 {
		c.MappingCache = DefaultMappingCache
	}
	switch {
	case c.MaxSeries == 0:
		c.MaxSeries = DefaultMaxSeries
	case c.MaxSeries < 0:
		c.MaxSeries = 0
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	return nil
}
