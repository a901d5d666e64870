package scrape

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// compiled is a validated Target with defaults applied.
type compiled struct {
	name        string
	src         Target // as configured, to tell a changed target on Reload
	url         *url.URL
	format      Format
	interval    time.Duration
	timeout     time.Duration
	header      http.Header
	validCodes  []int
	bodyLimit   int64
	seriesLimit int
	metrics     []*jsonMetric
	relabel     []*relabelRule
}

// compileTarget validates t; requireURL is false while parsing a file (the
// URL may come from a flag).
func compileTarget(name string, t *Target, tl *targetLines, requireURL bool) (*compiled, error) {
	w := where(name, tl)
	if !nameRE.MatchString(name) {
		return nil, fmt.Errorf("%s: invalid name (want %s)", w, nameRE)
	}
	c := &compiled{name: name, src: *t, format: t.Format, interval: time.Duration(t.Interval),
		timeout: time.Duration(t.Timeout), bodyLimit: t.BodySizeLimit, seriesLimit: t.SeriesLimit,
		header: http.Header{}}
	if t.URL == "" {
		if requireURL {
			return nil, fmt.Errorf("%s: url: required (in the file or as --scrape %s=URL)", w, name)
		}
	} else {
		u, err := parseURL(t.URL)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w, err)
		}
		c.url = u
	}
	if c.format == "" {
		c.format = FormatPrometheus
	}
	if c.interval == 0 {
		c.interval = DefaultInterval
	}
	if c.interval < 0 {
		return nil, fmt.Errorf("%s: interval: must be > 0 (got %s)", w, c.interval)
	}
	if c.timeout == 0 {
		c.timeout = min(DefaultTimeout, c.interval)
	}
	if c.timeout < 0 || c.timeout > c.interval {
		return nil, fmt.Errorf("%s: timeout: must be > 0 and <= interval %s (got %s)", w, c.interval, c.timeout)
	}
	if c.bodyLimit == 0 {
		c.bodyLimit = DefaultBodySizeLimit
	}
	if c.bodyLimit < 0 {
		return nil, fmt.Errorf("%s: body_size_limit: must be >= 0 (got %d)", w, c.bodyLimit)
	}
	if c.seriesLimit == 0 {
		c.seriesLimit = DefaultSeriesLimit
	}
	if c.seriesLimit < 0 {
		return nil, fmt.Errorf("%s: series_limit: must be >= 0 (got %d)", w, c.seriesLimit)
	}
	for k, v := range t.Headers {
		if k == "" || !validHeader(k, string(v)) {
			return nil, fmt.Errorf("%s: headers: %q: invalid header name or value", w, k)
		}
		c.header.Set(k, string(v))
	}
	for _, code := range t.ValidStatusCodes {
		if code < 100 || code > 599 {
			return nil, fmt.Errorf("%s: valid_status_codes: %d is not an HTTP status", w, code)
		}
	}
	c.validCodes = t.ValidStatusCodes
	var ml, rl []int
	if tl != nil {
		ml, rl = tl.metrics, tl.relabel
	}
	if c.format == FormatJSON && len(t.Metrics) == 0 {
		return nil, fmt.Errorf("%s: metrics: required with format json", w)
	}
	if c.format != FormatJSON && len(t.Metrics) > 0 {
		return nil, fmt.Errorf("%s: metrics: only with format: json", w)
	}
	types := map[string]*jsonMetric{}
	for i := range t.Metrics {
		jm, err := compileMetric(&t.Metrics[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", w, itemWhere("metrics", i, ml), err)
		}
		for _, v := range jm.values {
			if o := types[v.name]; o != nil && (o.typ != jm.typ || o.help != jm.help) {
				return nil, fmt.Errorf("%s: %s: %s: another entry makes it with another valuetype or help", w, itemWhere("metrics", i, ml), v.name)
			}
			types[v.name] = jm
		}
		c.metrics = append(c.metrics, jm)
	}
	for i := range t.MetricRelabelConfigs {
		r, err := compileRelabel(&t.MetricRelabelConfigs[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", w, itemWhere("metric_relabel_configs", i, rl), err)
		}
		c.relabel = append(c.relabel, r)
	}
	return c, nil
}

func validHeader(k, v string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}

// same reports whether two compiled targets scrape the same way.
func (c *compiled) same(o *compiled) bool { return reflect.DeepEqual(c.src, o.src) }

// process turns a body into the target's families: parse, relabel, check.
func (c *compiled) process(body []byte, contentType string) (fams []*dto.MetricFamily, counts map[string]int, err error) {
	counts = map[string]int{}
	if c.format == FormatJSON {
		doc, err := decodeJSON(body)
		if err != nil {
			return nil, counts, &scrapeError{ReasonParse, fmt.Errorf("json: %w", err)}
		}
		var st jsonStats
		fams = jsonToFamilies(doc, c.metrics, &st)
		counts[ReasonJSONPath] = st.skipped
	} else if fams, err = parseText(body, contentType); err != nil {
		return nil, counts, &scrapeError{ReasonParse, err}
	}
	fams, counts[ReasonRelabel] = relabelFamilies(fams, c.relabel)
	dropReserved(fams)
	if n := countSeries(fams); n > c.seriesLimit {
		return nil, counts, &scrapeError{ReasonTooManySeries, fmt.Errorf("%d series over series_limit %d", n, c.seriesLimit)}
	}
	fams, counts[ReasonInvalid] = normalize(fams)
	return fams, counts, nil
}

// scrapeError is a failed scrape and its reason.
type scrapeError struct {
	reason string
	err    error
}

func (e *scrapeError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *scrapeError) Unwrap() error { return e.err }
