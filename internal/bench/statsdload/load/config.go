// Package load is the engine of statsdload, the statsd load generator of
// issue 5 (podkit metrics-adapter, a drop-in for prometheus/statsd_exporter):
// it builds statsd lines and packs them into datagrams before sending, sends
// them over UDP or TCP at a set rate or flat out, and counts what a server
// received by scraping its /metrics. mabench drives it in process.
//
// Every counter line adds 1 to its series and every timer line adds 1 to its
// summary's or histogram's _count, so the sum over those families is the
// number of those lines the server handled: loss = 1 - received/sent.
// Gauges and sets carry no such count and are sent but not counted.
package load

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrConfig marks a Config that cannot run; the command exits 2 on it.
var ErrConfig = errors.New("invalid config")

// Types are the statsd metric types statsdload sends, by name.
var Types = map[string]string{"counter": "c", "gauge": "g", "timer": "ms", "set": "s"}

// TagStyles are the tag formats statsd_exporter parses; "none" puts the
// series number in the metric name instead.
var TagStyles = []string{"dogstatsd", "influx", "librato", "signalfx", "none"}

// Config describes one run. Zero values take the defaults noted.
type Config struct {
	Network  string        `json:"network"`     // "udp" or "tcp"; "": "udp"
	Addr     string        `json:"addr"`        // required: the server's statsd address
	Prefix   string        `json:"prefix"`      // metric name prefix, dots allowed; "": "statsdload"
	Types    []string      `json:"types"`       // line i has type Types[i%len]; nil: counter
	Series   int           `json:"series"`      // distinct series per type (the cardinality); 0: 1000
	Tags     []string      `json:"tags"`        // constant "key:value" tags on every line, besides the series tag
	Style    string        `json:"tag_style"`   // one of TagStyles; "": "dogstatsd"
	Size     int           `json:"size"`        // bytes per UDP datagram or TCP write, lines packed whole; 0: 1400
	OneLine  bool          `json:"one_line"`    // one line per datagram (or write) instead of packing
	Rate     float64       `json:"rate"`        // lines per second over all sockets; 0: flat out
	Duration time.Duration `json:"duration_ns"` // how long to send; 0 (and Lines 0): 10s
	Lines    int64         `json:"lines"`       // > 0: stop once this many lines are sent (whole datagrams: at most one more)
	Sockets  int           `json:"sockets"`     // UDP sockets (source ports, so that SO_REUSEPORT readers share the load) or TCP connections; 0: 1
	First    int           `json:"first"`       // series numbers start here, so that runs can add new series to a server
}

func (c Config) withDefaults() Config {
	if c.Network == "" {
		c.Network = "udp"
	}
	if c.Prefix == "" {
		c.Prefix = "statsdload"
	}
	if len(c.Types) == 0 {
		c.Types = []string{"counter"}
	}
	if c.Series == 0 {
		c.Series = 1000
	}
	if c.Style == "" {
		c.Style = "dogstatsd"
	}
	if c.Size == 0 {
		c.Size = 1400
	}
	if c.Duration == 0 && c.Lines == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Sockets == 0 {
		c.Sockets = 1
	}
	return c
}

// Validate reports the first field that cannot run, wrapping ErrConfig.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
	}
	switch {
	case c.Network != "udp" && c.Network != "tcp":
		return bad("Network: want udp or tcp (got %q)", c.Network)
	case c.Addr == "":
		return bad("Addr: required")
	case strings.ContainsAny(c.Prefix, ":|#,=[]\n "):
		return bad("Prefix: %q holds a statsd separator", c.Prefix)
	case c.Series < 1:
		return bad("Series: must be >= 1 (got %d)", c.Series)
	case c.First < 0:
		return bad("First: must be >= 0 (got %d)", c.First)
	case c.Size < 64 || c.Size > 65507:
		return bad("Size: want 64 to 65507 bytes (got %d)", c.Size)
	case c.Rate < 0:
		return bad("Rate: must be >= 0 (got %g)", c.Rate)
	case c.Duration < 0 || c.Lines < 0:
		return bad("Duration and Lines: must be >= 0")
	case c.Sockets < 1 || c.Sockets > 1024:
		return bad("Sockets: want 1 to 1024 (got %d)", c.Sockets)
	}
	for _, t := range c.Types {
		if _, ok := Types[t]; !ok {
			return bad("Types: unknown type %q (want counter, gauge, timer, set)", t)
		}
	}
	found := false
	for _, s := range TagStyles {
		found = found || s == c.Style
	}
	if !found {
		return bad("Style: unknown tag style %q (want one of %s)", c.Style, strings.Join(TagStyles, ", "))
	}
	for _, t := range c.Tags {
		k, v, ok := strings.Cut(t, ":")
		if !ok || k == "" || v == "" || strings.ContainsAny(t, "|#,=[]\n ") || strings.Count(t, ":") != 1 {
			return bad("Tags: want key:value with no statsd separator (got %q)", t)
		}
		if k == "series" {
			return bad("Tags: %q: the series tag is statsdload's own", t)
		}
	}
	if c.Style == "none" && len(c.Tags) > 0 {
		return bad("Tags: tag style none sends no tags")
	}
	return nil
}
