package load

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Counts is what one scrape of /metrics shows of statsdload's families.
type Counts struct {
	Counter       float64 `json:"counter"`        // sum over the counter series: counter lines received
	Timer         float64 `json:"timer"`          // sum of the timer series' _count: timer lines received
	CounterSeries int     `json:"counter_series"` // series seen
	TimerSeries   int     `json:"timer_series"`
	GaugeSeries   int     `json:"gauge_series"`
	Samples       int     `json:"samples"` // sample lines in the whole page, any family
}

// Lines is the counted lines received: counters plus timers.
func (c Counts) Lines() float64 { return c.Counter + c.Timer }

// Scrape is one fetch of /metrics.
type Scrape struct {
	Counts
	Duration  time.Duration `json:"duration_ns"` // request to last body byte, compressed on the wire when the server gzips
	WireBytes int64         `json:"wire_bytes"`
	Bytes     int64         `json:"bytes"` // uncompressed
}

// Client returns an HTTP client for Fetch: it asks for gzip itself, so
// that the timed body is what a Prometheus server would transfer.
func Client() *http.Client {
	return &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4}}
}

// Fetch scrapes url (the server's /metrics) with Accept-Encoding: gzip and
// counts prefix's families. Duration covers the transfer only, not the
// decompressing and counting after it.
func Fetch(ctx context.Context, client *http.Client, url, prefix string) (Scrape, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Scrape{}, err
	}
	// The text format, as Prometheus falls back to it: both servers speak it.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	req.Header.Set("Accept-Encoding", "gzip")
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return Scrape{}, fmt.Errorf("scrape %s: %w", url, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	s := Scrape{Duration: time.Since(t0), WireBytes: int64(len(body))}
	if err != nil {
		return s, fmt.Errorf("scrape %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	var r io.Reader = bytes.NewReader(body)
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return s, fmt.Errorf("scrape %s: gzip: %w", url, err)
		}
		r = zr
	}
	cr := &countingReader{r: r}
	s.Counts, err = Count(cr, prefix)
	s.Bytes = cr.n
	if err != nil {
		return s, fmt.Errorf("scrape %s: %w", url, err)
	}
	return s, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Count reads the Prometheus text format and sums statsdload's families
// under prefix (dots become underscores, as both servers map them): the
// counter family PREFIX_counter (or PREFIX_counter_N with tag style none),
// with or without _total, and PREFIX_timer_count (PREFIX_timer_N_count).
func Count(r io.Reader, prefix string) (Counts, error) {
	p := strings.ReplaceAll(prefix, ".", "_")
	counter, timer, gauge := p+"_counter", p+"_timer", p+"_gauge"
	var c Counts
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		c.Samples++
		end := bytes.IndexAny(line, "{ ")
		if end < 0 {
			return c, fmt.Errorf("sample without a value: %q", line)
		}
		name := string(line[:end])
		rest := line[end:]
		if rest[0] == '{' {
			// Label values are escaped; statsdload's own hold no '}'.
			close := bytes.LastIndexByte(rest, '}')
			if close < 0 {
				return c, fmt.Errorf("unterminated labels: %q", line)
			}
			rest = rest[close+1:]
		}
		var kind int
		switch {
		case family(name, counter, "") || family(name, counter, "_total"):
			kind = 1
		case family(name, timer, "_count"):
			kind = 2
		case family(name, gauge, ""):
			c.GaugeSeries++
			continue
		default:
			continue
		}
		f := bytes.Fields(rest) // value, then an optional timestamp
		if len(f) == 0 {
			return c, fmt.Errorf("sample without a value: %q", line)
		}
		v, err := strconv.ParseFloat(string(f[0]), 64)
		if err != nil {
			return c, fmt.Errorf("sample %q: %w", line, err)
		}
		if kind == 1 {
			c.Counter += v
			c.CounterSeries++
		} else {
			c.Timer += v
			c.TimerSeries++
		}
	}
	return c, sc.Err()
}

// family reports whether name is base+suffix, or base+"_"+N+suffix (the
// series number in the name, tag style none).
func family(name, base, suffix string) bool {
	rest, ok := strings.CutPrefix(name, base)
	if !ok {
		return false
	}
	rest, ok = strings.CutSuffix(rest, suffix)
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	digits, ok := strings.CutPrefix(rest, "_")
	if !ok || digits == "" {
		return false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Wait scrapes until the counted lines reach want or stop changing for
// quiet, and returns the last scrape: after a UDP run with loss the count
// never reaches what was sent, and the server may still be working through
// its queue. Polls are spaced at least poll apart and at least twice the
// last scrape's duration, so that waiting on a big page does not become the
// load. limit bounds the wait.
func Wait(ctx context.Context, client *http.Client, url, prefix string, want float64, poll, quiet, limit time.Duration) (Scrape, int, error) {
	deadline := time.Now().Add(limit)
	var last Scrape
	scrapes := 0
	changed := time.Now()
	for {
		s, err := Fetch(ctx, client, url, prefix)
		scrapes++
		if err != nil {
			return s, scrapes, err
		}
		if scrapes == 1 || s.Lines() != last.Lines() {
			changed = time.Now()
		}
		last = s
		now := time.Now()
		switch {
		case s.Lines() >= want:
			return s, scrapes, nil
		case now.Sub(changed) >= quiet:
			return s, scrapes, nil
		case now.After(deadline):
			return s, scrapes, fmt.Errorf("%s: counted %.0f lines of %.0f after %s", url, s.Lines(), want, limit)
		}
		select {
		case <-ctx.Done():
			return s, scrapes, ctx.Err()
		case <-time.After(max(poll, 2*s.Duration)):
		}
	}
}
