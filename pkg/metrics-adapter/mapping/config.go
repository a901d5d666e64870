package mapping

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxConfigSize bounds a mapping file: statsd_exporter reads any size.
const MaxConfigSize = 1 << 20

// ErrTooLarge is returned for a configuration over MaxConfigSize.
var ErrTooLarge = errors.New("mapping: config larger than 1 MiB")

// Config is a statsd_exporter mapping file, as written (before defaults).
// Unknown keys are rejected, as statsd_exporter's strict decoding does.
type Config struct {
	Defaults Defaults  `yaml:"defaults"`
	Mappings []Mapping `yaml:"mappings"`
}

// Defaults is the `defaults:` section.
type Defaults struct {
	ObserverType        ObserverType     `yaml:"observer_type"`
	MatchType           MatchType        `yaml:"match_type"`
	GlobDisableOrdering bool             `yaml:"glob_disable_ordering"`
	TTL                 Duration         `yaml:"ttl"`
	SummaryOptions      SummaryOptions   `yaml:"summary_options"`
	HistogramOptions    HistogramOptions `yaml:"histogram_options"`
}

// Mapping is one entry of `mappings:`. After Parse, MatchType, Action,
// ObserverType, TTL and the options of the observer type hold their
// defaulted values, as in statsd_exporter.
type Mapping struct {
	Match            string            `yaml:"match"`
	Name             string            `yaml:"name"`
	Labels           map[string]string `yaml:"labels"`
	HonorLabels      bool              `yaml:"honor_labels"`
	ObserverType     ObserverType      `yaml:"observer_type"`
	MatchType        MatchType         `yaml:"match_type"`
	Help             string            `yaml:"help"`
	Action           Action            `yaml:"action"`
	MatchMetricType  MetricType        `yaml:"match_metric_type"`
	TTL              Duration          `yaml:"ttl"`
	SummaryOptions   *SummaryOptions   `yaml:"summary_options"`
	HistogramOptions *HistogramOptions `yaml:"histogram_options"`
	Scale            *float64          `yaml:"scale"` // nil: not set
}

// SummaryOptions configures summaries (observer_type: summary).
type SummaryOptions struct {
	Quantiles  []Objective `yaml:"quantiles"`
	MaxAge     Duration    `yaml:"max_age"`
	AgeBuckets uint32      `yaml:"age_buckets"`
	BufCap     uint32      `yaml:"buf_cap"`
}

// HistogramOptions configures histograms (observer_type: histogram).
type HistogramOptions struct {
	Buckets                     []float64 `yaml:"buckets"`
	NativeHistogramBucketFactor float64   `yaml:"native_histogram_bucket_factor"`
	NativeHistogramMaxBuckets   uint32    `yaml:"native_histogram_max_buckets"`
}

// Objective is a summary quantile and its allowed error.
type Objective struct {
	Quantile float64 `yaml:"quantile"`
	Error    float64 `yaml:"error"`
}

// DefaultBuckets are client_golang's DefBuckets, statsd_exporter's default.
var DefaultBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// DefaultQuantiles are statsd_exporter's default summary objectives.
var DefaultQuantiles = []Objective{{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}}

// Duration is a time.Duration written as "30s" or, as statsd_exporter's YAML
// library also accepts, a number of nanoseconds (a fraction is dropped).
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		var f float64
		if v, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			*d = Duration(v)
			return nil
		} else if err := n.Decode(&f); err == nil && f >= math.MinInt64 && f <= math.MaxInt64 {
			*d = Duration(int64(f))
			return nil
		}
	}
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: cannot unmarshal %q into a duration", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MatchType is glob (the default) or regex.
type MatchType string

// Match types. "" in the file means glob.
const (
	MatchGlob  MatchType = "glob"
	MatchRegex MatchType = "regex"
)

// UnmarshalYAML implements yaml.Unmarshaler.
func (t *MatchType) UnmarshalYAML(n *yaml.Node) error {
	s, err := scalar(n)
	if err != nil {
		return err
	}
	switch MatchType(s) {
	case MatchRegex:
		*t = MatchRegex
	case MatchGlob, "":
		*t = MatchGlob
	default:
		return fmt.Errorf("line %d: invalid match type %q", n.Line, s)
	}
	return nil
}

// ObserverType is summary or histogram. "" in the file means summary, an
// absent key means the default's.
type ObserverType string

// Observer types.
const (
	ObserverSummary   ObserverType = "summary"
	ObserverHistogram ObserverType = "histogram"
)

// UnmarshalYAML implements yaml.Unmarshaler.
func (t *ObserverType) UnmarshalYAML(n *yaml.Node) error {
	s, err := scalar(n)
	if err != nil {
		return err
	}
	switch ObserverType(s) {
	case ObserverHistogram:
		*t = ObserverHistogram
	case ObserverSummary, "":
		*t = ObserverSummary
	default:
		return fmt.Errorf("line %d: invalid observer type %q", n.Line, s)
	}
	return nil
}

// Action is map (the default) or drop.
type Action string

// Actions.
const (
	ActionMap  Action = "map"
	ActionDrop Action = "drop"
)

// UnmarshalYAML implements yaml.Unmarshaler.
func (a *Action) UnmarshalYAML(n *yaml.Node) error {
	s, err := scalar(n)
	if err != nil {
		return err
	}
	switch Action(s) {
	case ActionDrop:
		*a = ActionDrop
	case ActionMap, "":
		*a = ActionMap
	default:
		return fmt.Errorf("line %d: invalid action type %q", n.Line, s)
	}
	return nil
}

// MetricType is the statsd type class a mapping applies to, and that Match
// is given: counter, gauge or observer (timers, histograms, distributions).
type MetricType string

// Metric types.
const (
	Counter  MetricType = "counter"
	Gauge    MetricType = "gauge"
	Observer MetricType = "observer"
)

func (t MetricType) index() int {
	switch t {
	case Counter:
		return 0
	case Gauge:
		return 1
	case Observer:
		return 2
	}
	return -1
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (t *MetricType) UnmarshalYAML(n *yaml.Node) error {
	s, err := scalar(n)
	if err != nil {
		return err
	}
	mt := MetricType(s)
	if mt.index() < 0 {
		return fmt.Errorf("line %d: invalid metric type %q", n.Line, s)
	}
	*t = mt
	return nil
}

func scalar(n *yaml.Node) (string, error) {
	var s string
	err := n.Decode(&s)
	return s, err
}

// The same syntax checks as statsd_exporter v0.31.0: a glob is dot-separated
// components, each "*" or a name (the first may not start with a digit); a
// name template is name characters and $N / ${N} references; a label name
// has at least two characters.
var (
	globRE      = regexp.MustCompile(`^(\*|[a-zA-Z_][a-zA-Z0-9_\-]*)(\.\*|\.[a-zA-Z0-9_][a-zA-Z0-9_\-]*)*$`)
	nameTmplRE  = regexp.MustCompile(`^([a-zA-Z_]|\$\{?\d+\}?)([a-zA-Z0-9_]|\$\{?\d+\}?)*$`)
	labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]+$`)
)

// ReadFile reads and parses a mapping file of at most MaxConfigSize bytes.
func ReadFile(path string) (*Mapper, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("mapping: %s: %w", path, err)
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return m, nil
}

// Parse decodes, validates and compiles a mapping configuration with
// statsd_exporter's rules; an error names the mapping (index and line) and
// the key. An empty document is an empty configuration.
func Parse(data []byte) (*Mapper, error) {
	if len(data) > MaxConfigSize {
		return nil, ErrTooLarge
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	lines, firstNull := mappingLines(data)
	if firstNull < 0 {
		return Compile(cfg, lines)
	}
	// yaml v3 leaves out a null entry of `mappings:`, statsd_exporter's v2
	// decodes it as an empty mapping, which has no name: the same error.
	if firstNull < len(cfg.Mappings) {
		cfg.Mappings = cfg.Mappings[:firstNull]
	}
	if _, err := Compile(cfg, lines); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("mapping: mappings[%d] (line %d): name: required", firstNull, lines[firstNull])
}

// mappingLines returns the line of each entry of `mappings:` for errors,
// and the index of the first null entry (-1: none).
func mappingLines(data []byte) (lines []int, firstNull int) {
	firstNull = -1
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil, -1
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, -1
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "mappings" && root.Content[i+1].Kind == yaml.SequenceNode {
			for j, item := range root.Content[i+1].Content {
				lines = append(lines, item.Line)
				if firstNull < 0 && item.Kind == yaml.ScalarNode && item.ShortTag() == "!!null" {
					firstNull = j
				}
			}
			return lines, firstNull
		}
	}
	return nil, -1
}

// Compile validates cfg and applies defaults as statsd_exporter does; lines
// (optional) gives each mapping's line for errors. cfg is copied.
func Compile(cfg Config, lines []int) (*Mapper, error) {
	d := cfg.Defaults
	if len(d.HistogramOptions.Buckets) == 0 {
		d.HistogramOptions.Buckets = DefaultBuckets
	}
	if d.HistogramOptions.NativeHistogramBucketFactor == 0 {
		d.HistogramOptions.NativeHistogramBucketFactor = 1.1
	}
	if d.HistogramOptions.NativeHistogramMaxBuckets == 0 {
		d.HistogramOptions.NativeHistogramMaxBuckets = 256
	}
	if len(d.SummaryOptions.Quantiles) == 0 {
		d.SummaryOptions.Quantiles = DefaultQuantiles
	}
	if d.MatchType == "" {
		d.MatchType = MatchGlob
	}
	// Values the YAML decoding cannot produce, for a Config built in Go.
	if d.MatchType != MatchGlob && d.MatchType != MatchRegex {
		return nil, fmt.Errorf("mapping: defaults: match_type: invalid %q", d.MatchType)
	}
	if d.ObserverType != "" && d.ObserverType != ObserverSummary && d.ObserverType != ObserverHistogram {
		return nil, fmt.Errorf("mapping: defaults: observer_type: invalid %q", d.ObserverType)
	}
	ms := make([]Mapping, len(cfg.Mappings))
	copy(ms, cfg.Mappings)
	for i := range ms {
		m := &ms[i]
		where := fmt.Sprintf("mapping: mappings[%d]", i)
		if i < len(lines) {
			where += fmt.Sprintf(" (line %d)", lines[i])
		}
		for k := range m.Labels {
			if !labelNameRE.MatchString(k) {
				return nil, fmt.Errorf("%s: labels: invalid label name %q (want %s)", where, k, labelNameRE)
			}
		}
		if m.Name == "" {
			return nil, fmt.Errorf("%s: name: required", where)
		}
		if !nameTmplRE.MatchString(m.Name) {
			return nil, fmt.Errorf("%s: name: %q does not match %s", where, m.Name, nameTmplRE)
		}
		if m.MatchType == "" {
			m.MatchType = d.MatchType
		}
		if m.Action == "" {
			m.Action = ActionMap
		}
		switch {
		case m.MatchType != MatchGlob && m.MatchType != MatchRegex:
			return nil, fmt.Errorf("%s: match_type: invalid %q", where, m.MatchType)
		case m.Action != ActionMap && m.Action != ActionDrop:
			return nil, fmt.Errorf("%s: action: invalid %q", where, m.Action)
		case m.MatchMetricType != "" && m.MatchMetricType.index() < 0:
			return nil, fmt.Errorf("%s: match_metric_type: invalid %q", where, m.MatchMetricType)
		case m.ObserverType != "" && m.ObserverType != ObserverSummary && m.ObserverType != ObserverHistogram:
			return nil, fmt.Errorf("%s: observer_type: invalid %q", where, m.ObserverType)
		}
		if m.MatchType == MatchGlob {
			if !globRE.MatchString(m.Match) {
				return nil, fmt.Errorf("%s: match: invalid glob %q", where, m.Match)
			}
		} else if _, err := regexp.Compile(m.Match); err != nil {
			return nil, fmt.Errorf("%s: match: invalid regex %q: %v", where, m.Match, err)
		}
		if m.ObserverType == "" {
			m.ObserverType = d.ObserverType
		}
		switch m.ObserverType {
		case ObserverHistogram:
			if m.SummaryOptions != nil {
				return nil, fmt.Errorf("%s: summary_options: not allowed with observer_type histogram", where)
			}
			h := HistogramOptions{}
			if m.HistogramOptions != nil {
				h = *m.HistogramOptions
			}
			if len(h.Buckets) == 0 {
				h.Buckets = d.HistogramOptions.Buckets
			}
			m.HistogramOptions = &h
		case ObserverSummary:
			if m.HistogramOptions != nil {
				return nil, fmt.Errorf("%s: histogram_options: not allowed with observer_type summary", where)
			}
			s := SummaryOptions{}
			if m.SummaryOptions != nil {
				s = *m.SummaryOptions
			}
			if len(s.Quantiles) == 0 {
				s.Quantiles = d.SummaryOptions.Quantiles
			}
			if s.MaxAge == 0 {
				s.MaxAge = d.SummaryOptions.MaxAge
			}
			if s.AgeBuckets == 0 {
				s.AgeBuckets = d.SummaryOptions.AgeBuckets
			}
			if s.BufCap == 0 {
				s.BufCap = d.SummaryOptions.BufCap
			}
			m.SummaryOptions = &s
		}
		if m.TTL == 0 && d.TTL > 0 {
			m.TTL = d.TTL
		}
	}
	return newMapper(d, ms)
}
