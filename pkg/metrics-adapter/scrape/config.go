package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxConfigSize bounds a scrape config file.
const MaxConfigSize = 1 << 20

// Defaults of a target.
const (
	DefaultInterval      = 15 * time.Second
	DefaultTimeout       = 5 * time.Second
	DefaultBodySizeLimit = 10 << 20 // bytes, after decompression
	DefaultSeriesLimit   = 10_000   // series (metrics) after relabeling
)

// ErrTooLarge is returned for a config file over MaxConfigSize.
var ErrTooLarge = errors.New("scrape: config larger than 1 MiB")

// Config is a scrape config file: `scrapes:` maps a scrape NAME (the NAME of
// `--scrape NAME=URL`) to its target.
type Config struct {
	Scrapes map[string]*Target `yaml:"scrapes"`

	lines map[string]*targetLines // from ParseConfig, for errors
}

// Target is one `scrapes.NAME` section. Zero values take the defaults.
type Target struct {
	URL              string            `yaml:"url"`                // or from --scrape NAME=URL (the flag wins)
	Format           Format            `yaml:"format"`             // json | prometheus (default)
	Interval         Duration          `yaml:"interval"`           // 0: 15s
	Timeout          Duration          `yaml:"timeout"`            // 0: 5s or the interval if shorter; <= interval
	Headers          map[string]Secret `yaml:"headers"`            // sent with each request, never logged
	ValidStatusCodes []int             `yaml:"valid_status_codes"` // json_exporter's; empty: 2xx
	BodySizeLimit    int64             `yaml:"body_size_limit"`    // bytes; 0: 10 MiB
	SeriesLimit      int               `yaml:"series_limit"`       // 0: 10000

	// Metrics is json_exporter's module `metrics:` list (format json).
	Metrics []Metric `yaml:"metrics"`
	// MetricRelabelConfigs are applied to every produced series, Prometheus
	// semantics, after parsing (both formats).
	MetricRelabelConfigs []RelabelConfig `yaml:"metric_relabel_configs"`
}

// Metric is one entry of json_exporter's `metrics:` list. Keys are
// lowercase as json_exporter's YAML v2 decoding reads them (`valuetype`).
type Metric struct {
	Name      string            `yaml:"name"`
	Path      string            `yaml:"path"`
	Labels    map[string]string `yaml:"labels"`
	Values    map[string]string `yaml:"values"`    // type object: suffix -> value template
	Type      string            `yaml:"type"`      // value (default) | object
	ValueType string            `yaml:"valuetype"` // untyped (default) | gauge | counter
	Help      string            `yaml:"help"`      // "": the name, as json_exporter

	// Rejected with a clear error: see README.md.
	EpochTimestamp      string `yaml:"epochtimestamp"`
	EpochTimestampCamel string `yaml:"epochTimestamp"`
}

// RelabelConfig is one Prometheus metric_relabel_configs entry.
type RelabelConfig struct {
	SourceLabels []string `yaml:"source_labels"`
	Separator    *string  `yaml:"separator"` // nil: ";"
	Regex        *string  `yaml:"regex"`     // nil: "(.*)"
	Modulus      uint64   `yaml:"modulus"`   // hashmod
	TargetLabel  string   `yaml:"target_label"`
	Replacement  *string  `yaml:"replacement"` // nil: "$1"
	Action       string   `yaml:"action"`      // "": replace
}

// Format is the body format of a target.
type Format string

// Formats.
const (
	FormatPrometheus Format = "prometheus" // Prometheus text 0.0.4 or OpenMetrics text
	FormatJSON       Format = "json"
)

// UnmarshalYAML implements yaml.Unmarshaler.
func (f *Format) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	switch Format(s) {
	case FormatPrometheus, FormatJSON, "":
		*f = Format(s)
		return nil
	}
	return fmt.Errorf("line %d: invalid format %q (want json or prometheus)", n.Line, s)
}

// Duration is a time.Duration written as "15s".
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q (want e.g. 15s)", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// Secret is a header value: it prints and logs as REDACTED.
type Secret string

// String implements fmt.Stringer.
func (Secret) String() string { return "REDACTED" }

// GoString implements fmt.GoStringer (%#v).
func (Secret) GoString() string { return `"REDACTED"` }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// targetLines are the lines of a scrape section and of its list entries.
type targetLines struct {
	line             int
	metrics, relabel []int
}

var (
	nameRE      = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9_.\-]*$`)
	metricRE    = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	typeRE      = regexp.MustCompile(` in type scrape\.\w+`)
)

// ReadConfig reads and parses a config file of at most MaxConfigSize bytes.
func ReadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("scrape: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("scrape: %s: %w", path, err)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return c, nil
}

// ParseConfig decodes a config strictly (unknown keys are errors) and
// validates it; an error names the scrape, its line and the key. A URL may be
// missing here (it may come from a flag): New requires it. An empty document
// is an empty Config.
func ParseConfig(data []byte) (*Config, error) {
	if len(data) > MaxConfigSize {
		return nil, ErrTooLarge
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	lines := configLines(data)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		msg := err.Error()
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msg = strings.Join(te.Errors, "; ")
		}
		return nil, fmt.Errorf("scrape: %s%s", whereLine(lines, err), typeRE.ReplaceAllString(msg, ""))
	}
	c.lines = lines
	for _, name := range c.names() {
		if c.Scrapes[name] == nil {
			c.Scrapes[name] = &Target{} // `app:` with nothing: pass-through
		}
		if _, err := compileTarget(name, c.Scrapes[name], c.lines[name], false); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// whereLine names the scrape holding the line of a YAML error, if any.
func whereLine(lines map[string]*targetLines, err error) string {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	var n int
	if _, e := fmt.Sscanf(strings.TrimPrefix(msg, "yaml: "), "line %d:", &n); e != nil {
		return ""
	}
	best, bestLine := "", 0
	for name, l := range lines {
		if l.line <= n && l.line > bestLine {
			best, bestLine = name, l.line
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("scrapes.%s (line %d): ", best, bestLine)
}

// configLines finds the line of each scrape and of its metrics and
// metric_relabel_configs entries.
func configLines(data []byte) map[string]*targetLines {
	out := map[string]*targetLines{}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return out
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "scrapes" || root.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		s := root.Content[i+1]
		for j := 0; j+1 < len(s.Content); j += 2 {
			tl := &targetLines{line: s.Content[j].Line}
			out[s.Content[j].Value] = tl
			t := s.Content[j+1]
			if t.Kind != yaml.MappingNode {
				continue
			}
			for k := 0; k+1 < len(t.Content); k += 2 {
				if t.Content[k+1].Kind != yaml.SequenceNode {
					continue
				}
				var ls []int
				for _, item := range t.Content[k+1].Content {
					ls = append(ls, item.Line)
				}
				switch t.Content[k].Value {
				case "metrics":
					tl.metrics = ls
				case "metric_relabel_configs":
					tl.relabel = ls
				}
			}
		}
	}
	return out
}

func (c *Config) names() []string {
	names := make([]string, 0, len(c.Scrapes))
	for n := range c.Scrapes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ParseFlag splits a `--scrape NAME=URL` value.
func ParseFlag(v string) (name, rawURL string, err error) {
	name, rawURL, ok := strings.Cut(v, "=")
	if !ok || name == "" || rawURL == "" {
		return "", "", fmt.Errorf("--scrape: want NAME=URL (got %q)", redactFlag(v))
	}
	if !nameRE.MatchString(name) {
		return "", "", fmt.Errorf("--scrape %s: invalid name (want %s)", name, nameRE)
	}
	if _, err := parseURL(rawURL); err != nil {
		return "", "", fmt.Errorf("--scrape %s: %w", name, err)
	}
	return name, rawURL, nil
}

// redactFlag hides the userinfo of a malformed flag value's URL.
func redactFlag(v string) string {
	if i := strings.Index(v, "@"); i >= 0 {
		if j := strings.Index(v, "://"); j >= 0 && j < i {
			return v[:j+3] + "REDACTED" + v[i:]
		}
	}
	return v
}

// AddFlags merges `--scrape NAME=URL` values into c: a NAME with a section
// gets its URL (the flag wins over `url:`); a NAME without one is a plain
// pass-through Prometheus target. A NAME given twice is an error.
func (c *Config) AddFlags(values []string) error {
	if c.Scrapes == nil {
		c.Scrapes = map[string]*Target{}
	}
	seen := map[string]bool{}
	for _, v := range values {
		name, u, err := ParseFlag(v)
		if err != nil {
			return err
		}
		if seen[name] {
			return fmt.Errorf("--scrape %s: given twice", name)
		}
		seen[name] = true
		t := c.Scrapes[name]
		if t == nil {
			t = &Target{}
			c.Scrapes[name] = t
		}
		t.URL = u
	}
	return nil
}

func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the URL, password included.
		return nil, errors.New("url: invalid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("url: scheme must be http or https (got %q)", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("url: %s: no host", u.Redacted())
	}
	return u, nil
}

// where names a scrape (and its line) in errors.
func where(name string, tl *targetLines) string {
	if tl != nil && tl.line > 0 {
		return fmt.Sprintf("scrape: scrapes.%s (line %d)", name, tl.line)
	}
	return "scrape: scrapes." + name
}

func itemWhere(key string, i int, lines []int) string {
	if i < len(lines) {
		return fmt.Sprintf("%s[%d] (line %d)", key, i, lines[i])
	}
	return fmt.Sprintf("%s[%d]", key, i)
}
