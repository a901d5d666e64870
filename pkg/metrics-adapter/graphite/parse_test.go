package graphite

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// recorder formats what a Parser reports, one string per sample or error:
// "path value @seconds[.nanos] {k=v,...}" and "!reason".
type recorder struct{ out []string }

func (r *recorder) Sample(s *Sample) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s @%d", s.Path, strconv.FormatFloat(s.Value, 'g', -1, 64), s.Timestamp.Unix())
	if ns := s.Timestamp.Nanosecond(); ns != 0 {
		fmt.Fprintf(&b, ".%s", strings.TrimRight(fmt.Sprintf("%09d", ns), "0"))
	}
	if len(s.Labels) > 0 {
		b.WriteString(" {")
		for i, l := range s.Labels {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%s=%s", l.Name, l.Value)
		}
		b.WriteByte('}')
	}
	r.out = append(r.out, b.String())
}

func (r *recorder) Error(reason Reason, _ []byte) { r.out = append(r.out, "!"+reason.String()) }

func parse(t testing.TB, cfg Config, packet string) []string {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var r recorder
	p.Parse([]byte(packet), &r)
	return r.out
}

type parseCase struct {
	name string
	cfg  Config
	in   string
	want []string
}

var small = Config{Limits: Limits{MaxPacketSize: 64, MaxLineLength: 24, MaxTags: 2}}

var parseCases = []parseCase{
	// Good lines.
	{"plain", Config{}, "a.b.c 1 1700000000", []string{"a.b.c 1 @1700000000"}},
	{"float value", Config{}, "a 1.5e3 1700000000", []string{"a 1500 @1700000000"}},
	{"negative", Config{}, "a -0.25 1700000000", []string{"a -0.25 @1700000000"}},
	{"hex float", Config{}, "a 0x1p3 1700000000", []string{"a 8 @1700000000"}},
	{"NaN value", Config{}, "a NaN 1700000000", []string{"a NaN @1700000000"}},
	{"Inf value", Config{}, "a +Inf 1700000000", []string{"a +Inf @1700000000"}},
	{"infinity", Config{}, "a -infinity 1700000000", []string{"a -Inf @1700000000"}},
	{"fractional ts", Config{}, "a 1 1700000000.5", []string{"a 1 @1700000000.5"}},
	{"float ts", Config{}, "a 1 1.7e9", []string{"a 1 @1700000000"}},
	{"negative ts", Config{}, "a 1 -1.5", []string{"a 1 @-2.5"}},
	{"dashes and colons kept", Config{}, "a-b:c.d 1 1", []string{"a-b:c.d 1 @1"}},
	{"unicode path", Config{}, "ü.a 1 1", []string{"ü.a 1 @1"}},
	{"invalid utf8 path", Config{}, "a\xff 1 1", []string{"a\xff 1 @1"}},
	// White space: trimmed at both ends, single spaces inside.
	{"crlf", Config{}, "a 1 1\r\n", []string{"a 1 @1"}},
	{"leading trailing space", Config{}, "  \ta 1 1 \t ", []string{"a 1 @1"}},
	{"unicode space trimmed", Config{}, "\u00a0a 1 1\u0085", []string{"a 1 @1"}},
	{"double space", Config{}, "a  1 1", []string{"!wrong_field_count"}},
	{"tab separator", Config{}, "a\t1\t1", []string{"!wrong_field_count"}},
	{"tab in value", Config{}, "a 1\t2 1", []string{"!invalid_value"}},
	{"four fields", Config{}, "a 1 1 x", []string{"!wrong_field_count"}},
	{"two fields", Config{}, "a 1", []string{"!wrong_field_count"}},
	{"one field", Config{}, "a", []string{"!wrong_field_count"}},
	{"empty value field", Config{}, "a  1", []string{"!invalid_value"}}, // Split gives "a", "", "1"
	{"empty line", Config{}, "", nil},
	{"blank lines", Config{}, "\n \r\n\t\n", nil},
	// Values and timestamps.
	{"bad value", Config{}, "a x 1", []string{"!invalid_value"}},
	{"underscore value", Config{}, "a 1_000 1", []string{"a 1000 @1"}}, // strconv.ParseFloat's rule, as there
	{"value out of range", Config{}, "a 1e400 1", []string{"!invalid_value"}},
	{"bad timestamp", Config{}, "a 1 x", []string{"!invalid_timestamp"}},
	{"timestamp out of range", Config{}, "a 1 1e400", []string{"!invalid_timestamp"}},
	{"bad value and timestamp", Config{}, "a x y", []string{"!invalid_value"}},
	// Tags.
	{"tags", Config{}, "a.b;k=v;k2=v2 1 1", []string{"a.b 1 @1 {k=v,k2=v2}"}},
	{"tag value with =", Config{}, "a;k=v=w 1 1", []string{"a 1 @1 {k=v=w}"}},
	{"empty tag value", Config{}, "a;k= 1 1", []string{"a 1 @1 {k=}"}},
	{"last tag wins", Config{}, "a;k=1;j=2;k=3 1 1", []string{"a 1 @1 {k=3,j=2}"}},
	{"tag name escaped", Config{}, "a;http.status-code=200;1x=y;ü=z 1 1", []string{"a 1 @1 {http_status_code=200,_x=y,_=z}"}},
	{"escaped names collide", Config{}, "a;a.b=1;a_b=2 1 1", []string{"a 1 @1 {a_b=2}"}},
	{"tag without =", Config{}, "a;k;j=v 1 1", []string{"!malformed_tag", "a 1 @1 {j=v}"}},
	{"empty tag", Config{}, "a;;k=v; 1 1", []string{"!malformed_tag", "!malformed_tag", "a 1 @1 {k=v}"}},
	{"empty tag name", Config{}, "a;=v 1 1", []string{"!invalid_label_name", "a 1 @1"}},
	{"reserved tag name", Config{}, "a;__name__=x;_.y=z 1 1", []string{"!invalid_label_name", "!invalid_label_name", "a 1 @1"}},
	{"non-utf8 tag name", Config{}, "a;\xff=x 1 1", []string{"!invalid_label_name", "a 1 @1"}},
	{"non-utf8 tag value", Config{}, "a;k=\xff 1 1", []string{"!invalid_label_value", "a 1 @1"}},
	{"tag errors before value", Config{}, "a;k x 1", []string{"!malformed_tag", "!invalid_value"}},
	{"empty path", Config{}, ";k=v 1 1", []string{"!empty_path"}},
	{"empty path bad tag", Config{}, ";k 1 1", []string{"!malformed_tag", "!empty_path"}},
	{"space in tags", Config{}, "a;k=v w 1 1", []string{"!wrong_field_count"}},
	// Limits.
	{"line too long", small, "abcdefghijklmnopqrstu 1 1", []string{"!line_too_long"}},
	{"line at limit", small, "abcdefghijklmnopqrst 1 1", []string{"abcdefghijklmnopqrst 1 @1"}},
	{"too many tags", small, "a;a=1;b=2;c=3 1 1", []string{"!too_many_tags"}},
	{"repeated tags fit", small, "a;a=1;b=2;a=3 1 1", []string{"a 1 @1 {a=3,b=2}"}},
	{"packet too long", small, strings.Repeat("a 1 1\n", 11), []string{"!packet_too_long"}},
	// Good lines around bad ones.
	{"bad in the middle", Config{}, "a 1 1\nb x 1\nc 3 1\n\nd\ne;k 5 1", []string{"a 1 @1", "!invalid_value", "c 3 @1", "!wrong_field_count", "!malformed_tag", "e 5 @1"}},
	{"no trailing newline", Config{}, "a 1 1\nb 2 2", []string{"a 1 @1", "b 2 @2"}},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got := parse(t, tc.cfg, tc.in)
			if strings.Join(got, " | ") != strings.Join(tc.want, " | ") {
				t.Errorf("Parse(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseLines(t *testing.T) {
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]int{"": 0, "a 1 1": 1, "a 1 1\n": 1, "a 1 1\n\n": 2, "\n": 1, "a\nb\nc": 3} {
		if got := p.Parse([]byte(in), &recorder{}); got != want {
			t.Errorf("Parse(%q) = %d lines, want %d", in, got, want)
		}
	}
}

// TestTimestamp: graphite_exporter's time.Unix(int64(ts),
// int64(math.Mod(ts, 1)*1e9)), with amd64's float conversion for NaN, Inf
// and out-of-range values, which leaves such samples expired at once.
func TestTimestamp(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		ts      float64
		want    time.Time
		expired bool
	}{
		{1700000000, now, false},
		{1700000000.25, now.Add(250 * time.Millisecond), false},
		{1700000000 - 300, now.Add(-5 * time.Minute), false}, // exactly at the limit: kept
		{1700000000 - 300.5, now.Add(-5*time.Minute - 500*time.Millisecond), true},
		{1700000000 + 86400, now.Add(24 * time.Hour), false},
		{0, time.Unix(0, 0), true},
		{-1.5, time.Unix(-2, 5e8), true},
		{math.NaN(), time.Unix(math.MinInt64, math.MinInt64), true},
		{math.Inf(1), time.Unix(math.MinInt64, math.MinInt64), true},
		{math.Inf(-1), time.Unix(math.MinInt64, math.MinInt64), true},
		{1e19, time.Unix(math.MinInt64, 0), true},
		{-1e19, time.Unix(math.MinInt64, 0), true},
	} {
		got := unixTime(tc.ts)
		if !got.Equal(tc.want) {
			t.Errorf("unixTime(%v) = %v, want %v", tc.ts, got, tc.want)
		}
		if e := Expired(got, now, DefaultSampleExpiry); e != tc.expired {
			t.Errorf("Expired(unixTime(%v)) = %v, want %v", tc.ts, e, tc.expired)
		}
	}
}

func TestNewLimits(t *testing.T) {
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Limits(); got != (Limits{DefaultMaxPacketSize, DefaultMaxLineLength, DefaultMaxTags}) {
		t.Errorf("defaults: %+v", got)
	}
	if _, err := New(Config{Limits: Limits{MaxTags: -1}}); err == nil || !strings.Contains(err.Error(), "Limits.MaxTags") {
		t.Errorf("negative MaxTags: %v", err)
	}
}

func TestReasons(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons() {
		s := r.String()
		if s == "" || s == "unknown" || seen[s] || strings.ToLower(s) != s || strings.ContainsAny(s, " -.") {
			t.Errorf("reason %d: bad or duplicate name %q", r, s)
		}
		seen[s] = true
	}
	if Reason(0).String() != "unknown" || numReasons.String() != "unknown" {
		t.Error("out-of-range reasons must be unknown")
	}
	if ReasonMalformedTag.DropsLine() || !ReasonInvalidValue.DropsLine() {
		t.Error("DropsLine")
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"a.b-c--d:e": "a_b_c__d:e", "1a": "_a", "ü.x": "__x", "a\xffb": "a_b", "_1": "_1", "": "", "::": "::",
	} {
		if got := MetricName([]byte(in)); got != want {
			t.Errorf("MetricName(%q) = %q, want %q", in, got, want)
		}
		if needsEscape([]byte(in), true) != (in != want) {
			t.Errorf("needsEscape(%q, true) wrong", in)
		}
	}
	for in, want := range map[string]string{"a:b": "a_b", "9": "_", "ok_1": "ok_1", "a€b": "a_b"} {
		if got := string(AppendLabelName(nil, []byte(in))); got != want {
			t.Errorf("AppendLabelName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestParseAllocs: a line, tags included, parses without allocating.
func TestParseAllocs(t *testing.T) {
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	packet := []byte("a.b.c 1.5 1700000000\nd;http.code=200;env=prod 2 1700000000.5\nbad line\n")
	h := &counter{}
	if n := testing.AllocsPerRun(100, func() { p.Parse(packet, h) }); n != 0 {
		t.Errorf("%v allocs per Parse", n)
	}
}

type counter struct{ samples, errors int }

func (c *counter) Sample(*Sample)       { c.samples++ }
func (c *counter) Error(Reason, []byte) { c.errors++ }
