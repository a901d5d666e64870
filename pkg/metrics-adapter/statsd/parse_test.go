package statsd

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// recorder formats what a Parser reports, one string per event or error:
// "name type value [+] [xN] {k=v,...}" and "!reason".
type recorder struct{ out []string }

func (r *recorder) Event(e *Event) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", e.Name, e.Type, strconv.FormatFloat(e.Value, 'g', -1, 64))
	if e.Member != nil {
		fmt.Fprintf(&b, " member=%s", e.Member)
	}
	if e.Relative {
		b.WriteString(" +")
	}
	if e.Repeat != 1 {
		fmt.Fprintf(&b, " x%d", e.Repeat)
	}
	if len(e.Labels) > 0 {
		b.WriteString(" {")
		for i, l := range e.Labels {
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

var parseCases = []parseCase{
	// Types.
	{"counter", Config{}, "a.b:1|c", []string{"a.b counter 1"}},
	{"counter float", Config{}, "a:1.5|c", []string{"a counter 1.5"}},
	{"counter plus", Config{}, "a:+2|c", []string{"a counter 2 +"}},
	{"gauge", Config{}, "g:-0.5e1|g", []string{"g gauge -5 +"}},
	{"gauge set", Config{}, "g:42|g", []string{"g gauge 42"}},
	{"gauge delta up", Config{}, "g:+3|g", []string{"g gauge 3 +"}},
	{"gauge delta down", Config{}, "g:-3|g", []string{"g gauge -3 +"}},
	{"timer", Config{}, "t:320|ms", []string{"t timer 320"}},
	{"histogram", Config{}, "h:0.25|h", []string{"h histogram 0.25"}},
	{"distribution", Config{}, "d:7|d", []string{"d distribution 7"}},
	{"set rejected", Config{}, "s:5|s", []string{"!illegal_event"}},
	{"set accepted", Config{Sets: true}, "s:5|s", []string{"s set 0 member=5"}},
	{"set member is text", Config{Sets: true}, "users:alice|s|#env:prod", []string{"users set 0 member=alice {env=prod}"}},
	{"set member signed", Config{Sets: true}, "users:-3|s", []string{"users set 0 member=-3"}},
	{"set member empty", Config{Sets: true}, "users:|s", []string{"!malformed_value"}},
	{"set text without Sets", Config{}, "users:alice|s", []string{"!malformed_value"}},
	{"unknown type", Config{}, "a:1|x", []string{"!illegal_event"}},
	{"type is case sensitive", Config{}, "a:1|C", []string{"!illegal_event"}},
	{"empty line", Config{}, "", nil},
	{"negative counter", Config{}, "a:-1|c", []string{"!illegal_negative_counter"}},
	{"nan counter", Config{}, "a:NaN|c", []string{"a counter NaN"}},
	{"inf gauge", Config{}, "a:+Inf|g", []string{"a gauge +Inf +"}},
	{"hex float", Config{}, "a:0x1p3|g", []string{"a gauge 8"}},

	// Sample rates.
	{"counter rate", Config{}, "a:1|c|@0.1", []string{"a counter 10"}},
	{"gauge rate ignored", Config{}, "a:5|g|@0.1", []string{"a gauge 5"}},
	{"timer rate", Config{}, "t:5|ms|@0.25", []string{"t timer 5 x4"}},
	{"histogram rate", Config{}, "h:5|h|@0.3", []string{"h histogram 5 x3"}},
	{"rate zero is one", Config{}, "a:2|c|@0", []string{"a counter 2"}},
	{"rate above one", Config{}, "t:5|ms|@2", nil},
	{"counter rate above one", Config{}, "a:4|c|@2", []string{"a counter 2"}},
	{"negative rate counter", Config{}, "a:4|c|@-1", []string{"!illegal_negative_counter"}},
	{"negative rate timer", Config{}, "t:4|ms|@-1", nil},
	{"bad rate kept", Config{}, "a:4|c|@x", []string{"!invalid_sample_factor", "a counter 4"}},
	{"huge rate", Config{}, "a:4|c|@1e400", []string{"!invalid_sample_factor", "a counter 0"}},
	{"tiny rate capped", Config{}, "t:1|ms|@1e-9", []string{"t timer 1 x1000000"}},
	{"tiny rate capped by limit", Config{Limits: Limits{MaxRepeat: 10}}, "t:1|ms|@0.01", []string{"t timer 1 x10"}},
	{"rate on set", Config{}, "s:1|s|@0.5", []string{"!illegal_event"}},
	{"rate then tags", Config{}, "a:1|c|@0.5|#k:v", []string{"a counter 2 {k=v}"}},
	{"two rates", Config{}, "a:1|c|@0.5|@0.5", []string{"a counter 4"}},

	// Multi-metric and extended aggregation.
	{"multi lines", Config{}, "a:1|c\nb:2|g\n", []string{"a counter 1", "b gauge 2"}},
	{"multi values", Config{}, "a:1|c:2|g", []string{"a counter 1", "a gauge 2"}},
	{"multi values one bad", Config{}, "a:1|c:x|c:3|c", []string{"a counter 1", "!malformed_value", "a counter 3"}},
	{"multi values trailing colon", Config{}, "a:1|c:", []string{"a counter 1", "!malformed_component"}},
	{"extended aggregation", Config{}, "t:1:2:3|ms|@0.5|#k:v", []string{"t timer 1 x2 {k=v}", "t timer 2 x2 {k=v}", "t timer 3 x2 {k=v}"}},
	{"extended aggregation h", Config{}, "h:1:2|h", []string{"h histogram 1", "h histogram 2"}},
	{"extended aggregation empty", Config{}, "d:1::2|d", []string{"d distribution 1", "!malformed_value", "d distribution 2"}},
	{"extended aggregation replay", Config{}, "t:1:x:2|ms|#k,ok:1|@y|c", []string{"!malformed_tag", "!invalid_sample_factor", "!malformed_container_id", "!malformed_value", "!invalid_sample_factor", "!malformed_container_id"}},
	{"extended aggregation bad rate", Config{}, "t:1:2|ms|@y|#ok:1", []string{"!invalid_sample_factor", "t timer 1 {ok=1}", "!invalid_sample_factor", "t timer 2 {ok=1}"}},
	{"extended aggregation too many parts", Config{}, "t:1:2|ms|@1|@1|@1|@1|@1", []string{"!malformed_component", "!malformed_component"}},
	{"extended aggregation counter", Config{}, "a:1:2|c", []string{"!invalid_extended_aggregate_type"}},
	{"dogstatsd disables multi", Config{}, "a:1|c|#k:v:2|g", []string{"!invalid_sample_factor"}},
	{"dogstatsd colon in tag", Config{}, "a:1|c|#k:v:2", []string{"a counter 1 {k=v:2}"}},
	{"bad line among good", Config{}, "a:1|c\nbad\nb:2|c", []string{"a counter 1", "!malformed_line", "b counter 2"}},

	// Tag dialects.
	{"dogstatsd", Config{}, "a:1|c|#k:v,k2:v2", []string{"a counter 1 {k=v,k2=v2}"}},
	{"dogstatsd hashes", Config{}, "a:1|c|##k:v,#k2:v2", []string{"a counter 1 {k=v,k2=v2}"}},
	{"dogstatsd value with colon", Config{}, "a:1|c|#url:http://x", []string{"a counter 1 {url=http://x}"}},
	{"dogstatsd escaped key", Config{}, "a:1|c|#a.b-c:v,1x:y,a--b:z", []string{"a counter 1 {a_b_c=v,_1x=y,a_b=z}"}},
	{"dogstatsd duplicate", Config{}, "a:1|c|#k:v,k:w", []string{"a counter 1 {k=w}"}},
	{"dogstatsd collision", Config{}, "a:1|c|#a.b:v,a_b:w", []string{"a counter 1 {a_b=w}"}},
	{"dogstatsd bad tags", Config{}, "a:1|c|#k,:v,k:,,ok:1,", []string{"!malformed_tag", "!malformed_tag", "!malformed_tag", "!malformed_tag", "a counter 1 {ok=1}"}},
	{"dogstatsd disabled", Config{DisabledTags: DogStatsD}, "a:1|c|#k:v", []string{"a counter 1"}},
	{"container id", Config{}, "a:1|c|#k:v|c:abc", []string{"a counter 1 {k=v,container_id=abc}"}},
	{"container id bad", Config{}, "a:1|c|c", []string{"!malformed_container_id"}},
	{"timestamp ignored", Config{}, "a:1|c|T1656581400", []string{"a counter 1"}},
	{"influxdb", Config{}, "a,k=v,k2=v2:1|c", []string{"a counter 1 {k=v,k2=v2}"}},
	{"influxdb disabled", Config{DisabledTags: InfluxDB}, "a,k=v:1|c", []string{"a,k=v counter 1"}},
	{"librato", Config{}, "a#k=v,k2=v2:1|c", []string{"a counter 1 {k=v,k2=v2}"}},
	{"librato disabled", Config{DisabledTags: Librato}, "a#k=v:1|c", []string{"a#k=v counter 1"}},
	{"first of # and , wins", Config{}, "a,k=v#x=y:1|c", []string{"a counter 1 {k=v#x=y}"}},
	{"signalfx", Config{}, "a[k=v,k2=v2]:1|c", []string{"a counter 1 {k=v,k2=v2}"}},
	{"signalfx middle", Config{}, "a.[k=v]b:1|c", []string{"a.b counter 1 {k=v}"}},
	{"signalfx before others", Config{}, "a[k=v],x=y:1|c", []string{"a,x=y counter 1 {k=v}"}},
	{"signalfx one bracket", Config{}, "a[k=v,x=y:1|c", []string{"!malformed_tag", "a[k=v,x=y counter 1"}},
	{"signalfx reversed", Config{}, "a]k=v[:1|c", []string{"!malformed_tag", "a]k=v[ counter 1"}},
	{"signalfx disabled", Config{DisabledTags: SignalFX}, "a[k=v]:1|c", []string{"a[k=v] counter 1"}},
	{"name tag bad", Config{}, "a,k,=v,x=:1|c", []string{"!malformed_tag", "!malformed_tag", "!malformed_tag", "a counter 1"}},
	{"mixed styles", Config{}, "a,k=v:1|c|#x:y", []string{"!mixed_tagging_styles"}},
	{"mixed styles dogstatsd off", Config{DisabledTags: DogStatsD}, "a#k=v:1|c|#x:y", []string{"!mixed_tagging_styles"}},
	{"mixed but name tag bad", Config{}, "a,k:1|c|#x:y", []string{"!malformed_tag", "a counter 1 {x=y}"}},
	{"empty name", Config{}, "#k=v:1|c", []string{"!empty_name"}},
	{"empty name influxdb", Config{}, ",k=v:1|c", []string{"!empty_name"}},
	{"empty name signalfx", Config{}, "[k=v]:1|c", []string{"!empty_name"}},
	{"reserved label", Config{}, "a:1|c|#__x:1,.-y:2,ok:3", []string{"!reserved_label_name", "!reserved_label_name", "a counter 1 {ok=3}"}},
	{"reserved name tag", Config{}, "a,__name__=b:1|c", []string{"!reserved_label_name", "a counter 1"}},
	{"all off", Config{DisabledTags: AllDialects}, "a[k=v],b#c:1|c|#x:y", []string{"a[k=v],b#c counter 1"}},

	// Malformed.
	{"no colon", Config{}, "abc", []string{"!malformed_line"}},
	{"no name", Config{}, ":1|c", []string{"!malformed_line"}},
	{"not utf8", Config{}, "a\xff:1|c", []string{"!malformed_line"}},
	{"no pipe", Config{}, "a:1", []string{"!not_enough_parts_after_colon"}},
	{"bad value", Config{}, "a:x|c", []string{"!malformed_value"}},
	{"empty value", Config{}, "a:|c", []string{"!malformed_value"}},
	{"value out of range", Config{}, "a:1e400|g", []string{"!malformed_value"}},
	{"empty part", Config{}, "a:1|c|", []string{"!malformed_component"}},
	{"empty inner part", Config{}, "a:1|c||@1", []string{"!malformed_component"}},
	{"too many parts", Config{}, "a:1|c|@1|@1|@1|@1|@1", []string{"!malformed_component"}},
	{"six parts ok", Config{}, "a:1|c|@1|@1|@1|@1", []string{"a counter 1"}},
	{"unknown part", Config{}, "a:1|c|x", []string{"!invalid_sample_factor"}},
	{"line too long", Config{Limits: Limits{MaxLineLength: 8}}, "abcdefgh:1|c\na:1|c", []string{"!line_too_long", "a counter 1"}},
	{"packet too long", Config{Limits: Limits{MaxPacketSize: 8}}, "a:1|c\nb:1|c", []string{"!packet_too_long"}},
	{"too many tags", Config{Limits: Limits{MaxTags: 2}}, "a:1|c|#a:1,b:2,c:3\nb:1|c|#a:1,b:2", []string{"!too_many_tags", "b counter 1 {a=1,b=2}"}},
	{"too many name tags", Config{Limits: Limits{MaxTags: 1}}, "a,x=1,y=2:1|c", []string{"!too_many_tags"}},
	{"cr kept", Config{}, "a:1|c\r\n", []string{"!illegal_event"}},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got := parse(t, tc.cfg, tc.in)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Parse(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseLines(t *testing.T) {
	p, _ := New(Config{})
	var r recorder
	for in, want := range map[string]int{"": 1, "a:1|c": 1, "a:1|c\n": 2, "a\n\nb": 3} {
		if got := p.Parse([]byte(in), &r); got != want {
			t.Errorf("Parse(%q) = %d lines, want %d", in, got, want)
		}
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Config{Limits: Limits{MaxTags: -1}}); err == nil || !strings.Contains(err.Error(), "Limits.MaxTags") {
		t.Errorf("New(MaxTags -1) = %v, want an error naming Limits.MaxTags", err)
	}
	if _, err := New(Config{DisabledTags: 1 << 7}); err == nil {
		t.Error("New(unknown dialect) = nil error")
	}
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Limits(); got != (Limits{DefaultMaxPacketSize, DefaultMaxLineLength, DefaultMaxTags, DefaultMaxRepeat}) {
		t.Errorf("default limits %+v", got)
	}
}

func TestAppendEscaped(t *testing.T) {
	for in, want := range map[string]string{
		"abc": "abc", "a.b": "a_b", "1a": "_1a", "a--b": "a_b", "a---b": "a_b", "a-b-c": "a_b_c",
		"ü": "_", "": "", "-": "_", "--": "_", "a.-b": "a__b", "9": "_9",
	} {
		if got := string(AppendEscaped(nil, []byte(in))); got != want {
			t.Errorf("AppendEscaped(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReasons(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons() {
		s := r.String()
		if s == "unknown" || s == "" || seen[s] {
			t.Errorf("reason %d: %q", r, s)
		}
		seen[s] = true
	}
	if Reason(0).String() != "unknown" || Reason(200).String() != "unknown" {
		t.Error("out-of-range reasons should be unknown")
	}
}

func TestObservedValue(t *testing.T) {
	for _, tc := range []struct {
		e    Event
		want float64
	}{
		{Event{Type: TypeTimer, Value: 250}, 0.25},
		{Event{Type: TypeHistogram, Value: 250}, 250},
		{Event{Type: TypeCounter, Value: 3}, 3},
	} {
		if got := tc.e.ObservedValue(); got != tc.want {
			t.Errorf("%v %v: ObservedValue = %v, want %v", tc.e.Type, tc.e.Value, got, tc.want)
		}
	}
}

// Event and label bytes must stay valid while the handler runs even when
// later tags are escaped into the same scratch buffer.
func TestLabelsAlias(t *testing.T) {
	got := parse(t, Config{}, "x.[a.b=1,c.d=2]y:1|c\nz:1|c|#e.f:3,g.h:4")
	want := []string{"x.y counter 1 {a_b=1,c_d=2}", "z counter 1 {e_f=3,g_h=4}"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
}

type discard struct{ events, errors int }

func (d *discard) Event(*Event)         { d.events++ }
func (d *discard) Error(Reason, []byte) { d.errors++ }

func BenchmarkParse(b *testing.B) {
	for _, bc := range []struct{ name, line string }{
		{"counter", "app.requests.count:1|c"},
		{"timer_rate", "app.request.duration:12.5|ms|@0.1"},
		{"dogstatsd", "app.requests:1|c|#env:prod,region:eu-west-1,service:api,http.status:200"},
		{"influxdb", "app.requests,env=prod,region=eu-west-1:1|c"},
		{"gauge_delta", "app.queue.depth:-3|g"},
		// Worst case: one 8 KiB line of 2000 values sharing 1000 bytes of
		// tags; linear, not values x tags.
		{"extended_aggregation_8k", "t:" + strings.Repeat("1:", 2000) + "1|ms|#" + strings.Repeat("k:v,", 250) + "k:v"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// A 1400-byte-ish datagram of the same line, as a client batches.
			var pkt []byte
			n := 0
			for n == 0 || len(pkt)+len(bc.line)+1 <= 1400 {
				pkt = append(pkt, bc.line...)
				pkt = append(pkt, '\n')
				n++
			}
			pkt = pkt[:len(pkt)-1]
			p, _ := New(Config{})
			var d discard
			b.ReportAllocs()
			b.SetBytes(int64(len(pkt)))
			for b.Loop() {
				p.Parse(pkt, &d)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/line")
			if d.errors > 0 {
				b.Fatalf("%d errors", d.errors)
			}
		})
	}
}
