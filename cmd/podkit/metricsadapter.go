package main

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/podkit/podkit/internal/cli"
	"github.com/podkit/podkit/internal/daemon"
	"github.com/podkit/podkit/internal/reload"
	metricsadapter "github.com/podkit/podkit/pkg/metrics-adapter"
	"github.com/podkit/podkit/pkg/metrics-adapter/graphite"
	"github.com/podkit/podkit/pkg/metrics-adapter/listen"
	"github.com/podkit/podkit/pkg/metrics-adapter/statsd"
)

func newMetricsAdapterCmd(a *app) *cobra.Command {
	var dcfg *daemon.Config
	f := &maFlags{}
	cmd := &cobra.Command{
		Use:   "metrics-adapter",
		Short: "Adapter: one Prometheus /metrics for statsd and Graphite apps, with statsd_exporter's mapping file",
		Long: `metrics-adapter is a drop-in for prometheus/statsd_exporter: applications send
statsd (UDP, TCP or unixgram; DogStatsD, InfluxDB, Librato and SignalFX tags)
and Prometheus scrapes one /metrics on --metrics-addr, in the text format or
OpenMetrics. --mapping-config takes statsd_exporter's mapping YAML as it is;
the file is re-read on SIGHUP and when it changes, and a bad file is rejected
while the running mapping stays. --graphite-addr takes Graphite plaintext
(TCP and UDP) as graphite_exporter does, with its own mapping file.
--scrape NAME=URL adds an app's own endpoint: Prometheus text renamed and
relabelled, or JSON read with json_exporter's metrics syntax (Jolokia's JSON
for JMX), per --scrape-config.

Malformed lines are counted and skipped; the rest of the packet is kept. New
series beyond --max-series are dropped and counted while existing ones keep
updating. UDP sockets are SO_REUSEPORT, one per CPU, with a 4 MiB receive
buffer; the kernel's drops are reported.

/metrics also serves podkit_metrics_adapter_* (lines, parse errors by reason,
samples dropped by reason, series, kernel drops); the admin server has
/healthz, /readyz and pprof.`,
		Example: `  podkit metrics-adapter
  podkit metrics-adapter --mapping-config /etc/statsd/mapping.yml --statsd-tcp-addr 127.0.0.1:9125
  podkit metrics-adapter --statsd-udp-addr 0.0.0.0:9125 --metrics-addr 0.0.0.0:9102 --max-series 100000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config()
			if err != nil {
				return err
			}
			dcfg.Logger = a.log
			d, err := daemon.New(*dcfg)
			if err != nil {
				return err
			}
			cfg.Reload = d.ReloadSignals()
			cfg.Logger = a.log.With("component", "metrics-adapter")
			cfg.Registry = d.Admin().Registry()
			ad, err := metricsadapter.New(cfg)
			if err != nil {
				if oe, ok := errors.AsType[*metricsadapter.OptionError](err); ok {
					return cli.Usagef(oe.Option, "%v", oe.Err)
				}
				if fe, ok := errors.AsType[*metricsadapter.FileError](err); ok {
					return cli.Usagef(fileFlag(cfg, fe), "%v", fe)
				}
				return err
			}
			if err := ad.Listen(); err != nil {
				if errors.Is(err, listen.ErrAddrInUse) {
					flag := "statsd-udp-addr"
					if strings.HasPrefix(err.Error(), "graphite:") {
						flag = "graphite-addr"
					}
					return cli.Usagef(flag, "%v", err)
				}
				return err
			}
			return d.Run(cmd.Context(), ad)
		},
	}
	dcfg = daemon.AddFlags(cmd.Flags(), cli.AdminMetricsAdapter)
	f.add(cmd.Flags())
	return cmd
}

type maFlags struct {
	udp, tcp, unixgram, mappingFile, metrics string
	graphiteAddr, graphiteMapping            string
	scrapeFile                               string
	scrapes                                  []string
	graphiteStrict, sets                     bool
	setWindow                                time.Duration
	graphiteExpiry                           time.Duration
	unixMode                                 string
	readBuffer, sockets, maxSeries, cache    int
	maxLine                                  int
	tags                                     []string
	watch                                    time.Duration
}

var tagDialects = map[string]statsd.Dialect{"dogstatsd": statsd.DogStatsD, "influxdb": statsd.InfluxDB, "librato": statsd.Librato, "signalfx": statsd.SignalFX}

func (f *maFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.udp, "statsd-udp-addr", metricsadapter.DefaultStatsdUDPAddr, "statsd UDP `HOST:PORT` (\"\": off)")
	fs.StringVar(&f.tcp, "statsd-tcp-addr", "", "statsd TCP `HOST:PORT` (\"\": off)")
	fs.StringVar(&f.unixgram, "statsd-unixgram-path", "", "statsd unixgram socket `PATH` (\"\": off)")
	fs.StringVar(&f.unixMode, "statsd-unixgram-mode", "755", "permissions of the unixgram socket file, in octal (statsd_exporter's --statsd.unixsocket-mode)")
	fs.StringSliceVar(&f.tags, "statsd-tags", []string{"dogstatsd", "influxdb", "librato", "signalfx"}, "tag dialects parsed (\"none\": tags stay part of the name)")
	fs.BoolVar(&f.sets, "statsd-sets", false, "take statsd sets (name:member|s) as gauges of distinct members per window (statsd_exporter rejects them)")
	fs.DurationVar(&f.setWindow, "statsd-set-window", metricsadapter.DefaultSetWindow, "the window a set counts distinct members over (statsd's flush interval)")
	fs.IntVar(&f.maxLine, "statsd-max-line-length", statsd.DefaultMaxLineLength, "longest statsd line in bytes; a longer one is skipped and counted")
	fs.IntVar(&f.readBuffer, "read-buffer", listen.DefaultReadBuffer, "SO_RCVBUF of each UDP/unixgram socket in bytes (-1: the OS default, statsd_exporter's)")
	fs.IntVar(&f.sockets, "udp-sockets", 0, "SO_REUSEPORT UDP sockets, each read by two goroutines (0: one per CPU)")
	fs.StringVar(&f.mappingFile, "mapping-config", "", "statsd_exporter mapping YAML `FILE` (re-read on SIGHUP and change)")
	fs.StringVar(&f.graphiteAddr, "graphite-addr", "", "Graphite plaintext over TCP and UDP on `HOST:PORT` (\"\": off; graphite_exporter uses :9109)")
	fs.StringVar(&f.graphiteMapping, "graphite-mapping-config", "", "mapping YAML `FILE` for Graphite paths (the statsd_exporter format, as graphite_exporter)")
	fs.BoolVar(&f.graphiteStrict, "graphite-mapping-strict-match", false, "drop Graphite paths no mapping matches")
	fs.DurationVar(&f.graphiteExpiry, "graphite-sample-expiry", graphite.DefaultSampleExpiry, "hide a Graphite sample once its timestamp is this old")
	fs.StringArrayVar(&f.scrapes, "scrape", nil, "`NAME=URL`: scrape the app's Prometheus endpoint (or, with a --scrape-config section NAME, its JSON) into /metrics (repeat)")
	fs.StringVar(&f.scrapeFile, "scrape-config", "", "scrape YAML `FILE`: per NAME its format, json_exporter metrics or metric_relabel_configs, interval")
	fs.IntVar(&f.cache, "mapping-cache-size", metricsadapter.DefaultMappingCache, "statsd names whose mapping the readers cache, all together")
	fs.IntVar(&f.maxSeries, "max-series", metricsadapter.DefaultMaxSeries, "most series held; new ones beyond are dropped and counted (-1: no limit)")
	fs.StringVar(&f.metrics, "metrics-addr", metricsadapter.DefaultMetricsAddr, "`HOST:PORT` serving /metrics (the adapted metrics and podkit's own)")
	fs.DurationVar(&f.watch, "config-watch-interval", reload.DefaultInterval, "check --mapping-config for changes this often (negative: only on SIGHUP)")
}

// config turns the flags into a Config; errors are usage errors.
func (f *maFlags) config() (metricsadapter.Config, error) {
	cfg := metricsadapter.Config{
		StatsdUDPAddr: f.udp, StatsdTCPAddr: f.tcp, StatsdUnixgramPath: f.unixgram,
		ReadBuffer: f.readBuffer, UDPSockets: f.sockets, MappingFile: f.mappingFile, MappingCache: f.cache,
		MaxSeries: f.maxSeries, MetricsAddr: f.metrics, WatchInterval: f.watch,
		StatsdLimits: statsd.Limits{MaxLineLength: f.maxLine}, StatsdSets: f.sets, StatsdSetWindow: f.setWindow,
		GraphiteAddr: f.graphiteAddr, GraphiteMappingFile: f.graphiteMapping, GraphiteStrictMatch: f.graphiteStrict,
		GraphiteSampleExpiry: f.graphiteExpiry, ScrapeFile: f.scrapeFile, Scrapes: f.scrapes,
	}
	if f.metrics == "" {
		return cfg, cli.Usagef("metrics-addr", "must not be empty")
	}
	if f.maxSeries == 0 || f.maxSeries < -1 {
		return cfg, cli.Usagef("max-series", "must be > 0, or -1 for no limit (got %d)", f.maxSeries)
	}
	if f.maxLine <= 0 || f.maxLine > statsd.DefaultMaxPacketSize {
		return cfg, cli.Usagef("statsd-max-line-length", "must be 1..%d (got %d)", statsd.DefaultMaxPacketSize, f.maxLine)
	}
	// Octal whether or not it starts with 0, as statsd_exporter reads it:
	// "755" is rwxr-xr-x, not decimal 755.
	mode, err := strconv.ParseUint(f.unixMode, 8, 32)
	if err != nil || mode&^0o777 != 0 {
		return cfg, cli.Usagef("statsd-unixgram-mode", "want octal permissions such as 755 (got %q)", f.unixMode)
	}
	cfg.StatsdUnixgramMode = os.FileMode(mode)
	if f.watch == 0 {
		return cfg, cli.Usagef("config-watch-interval", "must not be 0 (negative: only on SIGHUP)")
	}
	cfg.StatsdDisabledTags = statsd.AllDialects
	for _, t := range f.tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "none" {
			continue
		}
		d, ok := tagDialects[t]
		if !ok {
			return cfg, cli.Usagef("statsd-tags", "unknown dialect %q (dogstatsd, influxdb, librato, signalfx, none)", t)
		}
		cfg.StatsdDisabledTags &^= d
	}
	return cfg, nil
}

// fileFlag names the flag behind a rejected file (no file: a --scrape value).
func fileFlag(cfg metricsadapter.Config, fe *metricsadapter.FileError) string {
	switch fe.File {
	case "":
		return "scrape"
	case cfg.MappingFile:
		return "mapping-config"
	case cfg.GraphiteMappingFile:
		return "graphite-mapping-config"
	default:
		return "scrape-config"
	}
}
