package scrape

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// acceptHeader asks for the Prometheus text format first: expfmt parses it
// natively; OpenMetrics text is converted (openMetricsToText).
const acceptHeader = "text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1"

// parseText parses a Prometheus text (0.0.4) or, when the content type says
// so or the body ends with "# EOF", OpenMetrics text body.
func parseText(body []byte, contentType string) (fams []*dto.MetricFamily, err error) {
	// expfmt v0.66.1's TextParser panics on some input ("{}": a label set
	// without a metric name; testdata/fuzz/FuzzPrometheusText).
	defer func() {
		if r := recover(); r != nil {
			fams, err = nil, fmt.Errorf("text format: malformed input (parser panic: %v)", r)
		}
	}()
	if strings.HasPrefix(contentType, "application/openmetrics-text") ||
		bytes.HasSuffix(bytes.TrimRight(body, "\n"), []byte("# EOF")) {
		body = openMetricsToText(body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	m, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	out := make([]*dto.MetricFamily, 0, len(m))
	for _, f := range m {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out, nil
}

// openMetricsToText rewrites the OpenMetrics text features the 0.0.4 parser
// does not read: `# EOF` and `# UNIT` lines go, the types unknown, info,
// stateset and gaugehistogram become untyped/gauge, a counter family is
// named with its `_total` sample name, `_created` samples of counters,
// histograms and summaries go, exemplars go and timestamps in seconds become
// milliseconds. Malformed lines are left for the parser to report.
func openMetricsToText(body []byte) []byte {
	out := make([]byte, 0, len(body))
	types := map[string]string{} // family name -> OpenMetrics type
	for len(body) > 0 {
		var line []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			line, body = body, nil
		}
		s := string(line)
		if strings.HasPrefix(s, "#") {
			f := strings.SplitN(s, " ", 4)
			if len(f) >= 2 && (f[1] == "EOF" || f[1] == "UNIT") {
				continue
			}
			if len(f) >= 4 && f[1] == "TYPE" {
				types[f[2]] = f[3]
				switch f[3] {
				case "counter":
					if !strings.HasSuffix(f[2], "_total") {
						f[2] += "_total"
					}
				case "unknown", "gaugehistogram":
					f[3] = "untyped"
				case "info", "stateset":
					f[3] = "gauge"
				}
				if f[3] == "gauge" && types[f[2]] == "info" {
					f[2] += "_info"
				}
				s = strings.Join(f, " ")
			}
			if len(f) >= 3 && f[1] == "HELP" {
				switch types[f[2]] {
				case "counter":
					if !strings.HasSuffix(f[2], "_total") {
						f[2] += "_total"
					}
				case "info":
					f[2] += "_info"
				}
				s = strings.Join(f, " ")
			}
			out = append(out, s...)
			out = append(out, '\n')
			continue
		}
		s = omSample(s, types)
		if s == "" {
			continue
		}
		out = append(out, s...)
		out = append(out, '\n')
	}
	return out
}

// omSample rewrites one OpenMetrics sample line ("" drops it).
func omSample(s string, types map[string]string) string {
	// The name ends at '{' or a space; the labels at the '}' outside quotes.
	end := strings.IndexAny(s, "{ ")
	if end < 0 {
		return s
	}
	name := s[:end]
	if strings.HasSuffix(name, "_created") {
		base := strings.TrimSuffix(name, "_created")
		switch types[base] {
		case "counter", "histogram", "summary":
			return ""
		}
	}
	rest := end
	if s[end] == '{' {
		c, err := closing(s, end+1, '}')
		if err != nil {
			return s
		}
		rest = c + 1
	}
	head, tail := s[:rest], s[rest:]
	if i := strings.Index(tail, " # "); i >= 0 { // exemplar
		tail = tail[:i]
	}
	f := strings.Fields(tail)
	if len(f) == 2 {
		if ts, err := strconv.ParseFloat(f[1], 64); err == nil && !math.IsNaN(ts) && !math.IsInf(ts, 0) && math.Abs(ts) < 1e15 {
			f[1] = strconv.FormatInt(int64(math.Round(ts*1000)), 10)
		}
	}
	return head + " " + strings.Join(f, " ")
}
