package format

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseFormat(t *testing.T) {
	for _, f := range []Format{Raw, JSON, CRI, Docker} {
		got, err := ParseFormat(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f, got, err)
		}
	}
	if _, err := ParseFormat("logfmt"); !errors.Is(err, ErrFormat) {
		t.Errorf("ParseFormat(logfmt) err = %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Format: 9}, "Format"},
		{Config{Timeout: -time.Second}, "Timeout"},
		{Config{MaxBytes: -1}, "MaxBytes"},
		{Config{MaxLines: -1}, "MaxLines"},
		{Config{Start: -1}, "Start"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) err = %v, want it to name %s", c.cfg, err, c.want)
		}
	}
}

func TestRaw(t *testing.T) {
	r := newRun(t, Config{File: "/var/log/app.log", Start: 100}).
		feed("hello", "windows\r\n", "", "tab\there", "bad \xff utf8", "no newline at all")
	equal(t, "lines", r.lines(), []string{"hello", "windows", "", "tab\there", "bad \xff utf8", "no newline at all"})
	e := r.out[1]
	if e.File != "/var/log/app.log" || e.Offset != 106 || e.End != 115 || !e.Time.Equal(t0) || e.Fields != nil {
		t.Errorf("record = %+v", e)
	}
	// A line passed without its "\n" is fine too.
	out := r.d.Feed(nil, []byte("x\r"), r.pos, r.pos+2)
	if string(out[0].Line) != "x" {
		t.Errorf("line %q", out[0].Line)
	}
}

func TestRecordsDoNotAliasInput(t *testing.T) {
	d, _ := New(Config{Format: CRI})
	buf := []byte("2016-10-06T00:17:09.669794202Z stdout F hello\n")
	out := d.Feed(nil, buf, 0, int64(len(buf)))
	for i := range buf {
		buf[i] = 'X'
	}
	if string(out[0].Line) != "hello" || string(out[0].Fields[0].Value) != `"2016-10-06T00:17:09.669794202Z"` {
		t.Errorf("record changed with its input: %q %s", out[0].Line, out[0].Fields[0].Value)
	}
}

func TestJSON(t *testing.T) {
	for _, c := range []struct {
		name, in string
		line     string
		fields   []string
		reason   Reason // NumReasons: none
	}{
		{"slog", `{"time":"2024-05-01T12:00:00Z","level":"INFO","msg":"started","port":8080}`,
			"started", []string{`log_time="2024-05-01T12:00:00Z"`, `level="INFO"`, `port=8080`}, NumReasons},
		{"message key", `{"message":"a \"quoted\" \u00e9\n line","severity":"ERROR"}`,
			"a \"quoted\" é\n line", []string{`severity="ERROR"`}, NumReasons},
		{"msg wins, message stays a field", `{"msg":"m1","message":"m2"}`,
			"m1", []string{`message="m2"`}, NumReasons},
		{"msg not a string", `{"msg":{"k":[1,2,{"x":"}"}]},"n":null}`,
			`{"msg":{"k":[1,2,{"x":"}"}]},"n":null}`, []string{`msg={"k":[1,2,{"x":"}"}]}`, `n=null`}, NumReasons},
		{"no message: line stays", `{"a":1, "b" : [true,false] }`,
			`{"a":1, "b" : [true,false] }`, []string{`a=1`, `b=[true,false]`}, NumReasons},
		{"reserved renamed", `{"line":1,"file":"f","offset":2,"time":3}`,
			`{"line":1,"file":"f","offset":2,"time":3}`, []string{"log_line=1", `log_file="f"`, "log_offset=2", "log_time=3"}, NumReasons},
		{"escaped key", `{"l\u0065vel":"x"}`, `{"l\u0065vel":"x"}`, []string{`level="x"`}, NumReasons},
		{"surrogates", `{"msg":"\ud83d\ude00 \ud83d x"}`, "\U0001F600 \uFFFD x", nil, NumReasons},
		{"crlf", "{\"msg\":\"win\"}\r\n", "win", nil, NumReasons},
		{"invalid", `{"msg":"unterminated`, `{"msg":"unterminated`, nil, ReasonJSONInvalid},
		{"java trace line", "\tat com.example.Foo.bar(Foo.java:10)", "\tat com.example.Foo.bar(Foo.java:10)", nil, ReasonJSONInvalid},
		{"empty", "", "", nil, ReasonJSONInvalid},
		{"array", `[1,2]`, `[1,2]`, nil, ReasonJSONNotObject},
		{"string", `"s"`, `"s"`, nil, ReasonJSONNotObject},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRun(t, Config{Format: JSON}).feed(c.in)
			equal(t, "line", r.lines(), []string{c.line})
			equal(t, "fields", fields(r.out[0]), c.fields)
			st := r.d.Stats()
			for i, n := range st.Malformed {
				if want := Reason(i) == c.reason; want != (n == 1) {
					t.Errorf("Malformed[%v] = %d", Reason(i), n)
				}
			}
		})
	}
}

// Real CRI lines as containerd writes them (pkg/cri/io/logger.go):
// TIMESTAMP STREAM TAG CONTENT, content split in 16 KiB P pieces.
func TestCRI(t *testing.T) {
	const ts = "2016-10-06T00:17:09.669794202Z"
	r := newRun(t, Config{Format: CRI}).feed(
		ts+" stdout F The content of the log entry 1",
		ts+" stdout P First part of log entry 2, ",
		ts+" stdout P second part, ",
		"2016-10-06T00:17:10.113242941Z stdout F last part of log entry 2",
		ts+" stderr F windows line\r",
		ts+" stdout P caf\xc3",
		ts+" stdout F \xa9 split rune",
		ts+" stdout F ",
		ts+" stderr F",
		ts+" stdout F:x future tag",
		ts+" stdout F  leading space kept",
	)
	equal(t, "lines", r.lines(), []string{
		"The content of the log entry 1",
		"First part of log entry 2, second part, last part of log entry 2",
		"windows line",
		"café split rune",
		"", "", "future tag", " leading space kept",
	})
	equal(t, "fields", fields(r.out[1]), []string{`log_time="` + ts + `"`, `stream="stdout"`})
	equal(t, "fields", fields(r.out[2]), []string{`log_time="` + ts + `"`, `stream="stderr"`})
	if st := r.d.Stats(); st.Joined != 2 || st.Records != 8 || st.Lines != 11 {
		t.Errorf("stats %+v", st)
	}
	// Entry 2 covers its three source lines.
	if e := r.out[1]; e.Offset != r.out[0].End || e.End != r.out[2].Offset {
		t.Errorf("entry 2 covers [%d,%d)", e.Offset, e.End)
	}
}

func TestCRIPartialPending(t *testing.T) {
	const ts = "2016-10-06T00:17:09.669794202Z"
	r := newRun(t, Config{Format: CRI}).feed(ts+" stdout F one", ts+" stdout P two")
	if len(r.out) != 1 || r.d.SafeOffset() != r.out[0].End {
		t.Fatalf("out %d, SafeOffset %d", len(r.out), r.d.SafeOffset())
	}
	if dl, ok := r.d.Deadline(); !ok || !dl.Equal(t0.Add(time.Second)) {
		t.Errorf("Deadline = %v, %v", dl, ok)
	}
	r.flush(999 * time.Millisecond)
	if len(r.out) != 1 {
		t.Fatal("flushed before the timeout")
	}
	r.flush(time.Millisecond)
	equal(t, "lines", r.lines(), []string{"one", "two"})
	if r.d.Stats().TimedOut != 1 {
		t.Errorf("TimedOut = %d", r.d.Stats().TimedOut)
	}
	// The F that arrives late is its own record: split, nothing lost.
	r.feed(ts + " stdout F three").flushAll()
	equal(t, "lines", r.lines(), []string{"one", "two", "three"})
}

func TestCRIInterleavedStreams(t *testing.T) {
	const ts = "2016-10-06T00:17:09.669794202Z"
	r := newRun(t, Config{Format: CRI}).feed(
		ts+" stdout P out-1 ",
		ts+" stderr F err",
		ts+" stdout F out-2",
	)
	equal(t, "lines", r.lines(), []string{"out-1 ", "err", "out-2"})
	if r.d.Stats().Interleaved != 1 {
		t.Errorf("Interleaved = %d", r.d.Stats().Interleaved)
	}
}

func TestCRIMalformed(t *testing.T) {
	const ts = "2016-10-06T00:17:09.669794202Z"
	for _, c := range []struct {
		in     string
		reason Reason
	}{
		{"garbage", ReasonCRISyntax},
		{ts + " stdout", ReasonCRISyntax},
		{" stdout F x", ReasonCRISyntax},
		{`2016"10 stdout F x`, ReasonCRITime},
		{ts + " stdin F x", ReasonCRIStream},
		{ts + " stdout X x", ReasonCRITag},
		{ts + " stdout  x", ReasonCRITag},
	} {
		r := newRun(t, Config{Format: CRI}).feed(ts+" stdout P pending ", c.in)
		equal(t, c.in, r.lines(), []string{"pending ", c.in})
		if st := r.d.Stats(); st.Malformed[c.reason] != 1 || st.Interleaved != 0 {
			t.Errorf("%q: stats %+v", c.in, st)
		}
		if r.out[1].Fields != nil {
			t.Errorf("%q: raw record has fields", c.in)
		}
	}
}

// Real json-file lines as dockerd writes them (daemon/logger/jsonfilelog):
// a log value without its "\n" is a 16 KiB piece of a longer line.
func TestDocker(t *testing.T) {
	r := newRun(t, Config{Format: Docker}).feed(
		`{"log":"hello world\n","stream":"stdout","time":"2019-01-01T11:11:11.111111111Z"}`,
		`{"log":"\u003cb\u003e part 1 ","stream":"stderr","time":"2019-01-01T11:11:11.2Z"}`,
		`{"log":"part 2\r\n","stream":"stderr","time":"2019-01-01T11:11:11.3Z"}`,
		"{\"log\":\"caf\xc3\",\"stream\":\"stdout\",\"time\":\"2019-01-01T11:11:12Z\"}",
		"{\"log\":\"\xa9\\n\",\"stream\":\"stdout\",\"time\":\"2019-01-01T11:11:13Z\"}",
		`{"log":"with attrs\n","stream":"stdout","attrs":{"tag":"web"},"time":"2019-01-01T11:11:14Z"}`,
		`{"log":"\n","stream":"stdout","time":"2019-01-01T11:11:15Z"}`,
	)
	equal(t, "lines", r.lines(), []string{"hello world", "<b> part 1 part 2", "café", "with attrs", ""})
	equal(t, "fields", fields(r.out[1]), []string{`stream="stderr"`, `log_time="2019-01-01T11:11:11.2Z"`})
	equal(t, "fields", fields(r.out[3]), []string{`stream="stdout"`, `attrs={"tag":"web"}`, `log_time="2019-01-01T11:11:14Z"`})
	if st := r.d.Stats(); st.Joined != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestDockerMalformed(t *testing.T) {
	for _, c := range []struct {
		in     string
		reason Reason
	}{
		{"plain text", ReasonDockerJSON},
		{`["log"]`, ReasonDockerJSON},
		{`{"stream":"stdout"}`, ReasonDockerLog},
		{`{"log":42}`, ReasonDockerLog},
		{`{"log":"x\n","stream":"stdin"}`, ReasonDockerStream},
	} {
		r := newRun(t, Config{Format: Docker}).feed(c.in)
		equal(t, c.in, r.lines(), []string{c.in})
		if st := r.d.Stats(); st.Malformed[c.reason] != 1 {
			t.Errorf("%q: stats %+v", c.in, st)
		}
	}
}

const javaTrace = `2024-05-01 12:00:00.000 ERROR [main] request failed
java.lang.IllegalStateException: connection refused
	at com.example.db.Pool.get(Pool.java:42)
	at com.example.Handler.serve(Handler.java:17)
Caused by: java.net.ConnectException: Connection refused
	at java.base/sun.nio.ch.Net.connect0(Native Method)
	... 12 more`

var dateStart = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} `)

func TestMultilineJava(t *testing.T) {
	r := newRun(t, Config{Multiline: dateStart}).
		feed("continuation before any start", "\tat x").
		feed(strings.Split(javaTrace, "\n")...).
		feed("2024-05-01 12:00:01.000 INFO [main] next")
	equal(t, "lines", r.lines(), []string{"continuation before any start\n\tat x", javaTrace})
	if lines, _ := r.d.Pending(); lines != 1 {
		t.Errorf("Pending lines = %d", lines)
	}
	r.flush(500 * time.Millisecond)
	if len(r.out) != 2 {
		t.Fatal("flushed before the timeout")
	}
	r.feed("\tat late.continuation") // resets the timer: time since the last line
	r.flush(900 * time.Millisecond)  // 1.4s after the start, 0.9s after the last line
	if len(r.out) != 2 {
		t.Fatal("timeout not measured from the last line")
	}
	r.flush(100 * time.Millisecond)
	equal(t, "lines", r.lines()[2:], []string{"2024-05-01 12:00:01.000 INFO [main] next\n\tat late.continuation"})
	// After the timeout, a late continuation begins its own entry; EOF
	// (FlushAll) emits it.
	r.feed("\tat later").flushAll()
	equal(t, "lines", r.lines()[3:], []string{"\tat later"})
	if st := r.d.Stats(); st.Joined != 3 || st.TimedOut != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestMultilineBounds(t *testing.T) {
	r := newRun(t, Config{Multiline: dateStart, MaxLines: 3, MaxBytes: 20}).
		feed("2024-05-01 a", "1", "2", "3", "4").    // MaxLines: 3 lines, then 2
		feed("2024-05-01 b", "123456789").flushAll() // MaxBytes: 12+1+9 > 20
	equal(t, "lines", r.lines(), []string{"2024-05-01 a\n1\n2", "3\n4", "2024-05-01 b", "123456789"})
	if st := r.d.Stats(); st.Splits != 2 || st.Truncated != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A Java trace on stderr of a CRI file, with a stdout line in the middle:
// partials are joined first, then the trace; streams are never mixed.
func TestMultilineCRI(t *testing.T) {
	const ts = "2024-05-01T12:00:00.000000000Z"
	r := newRun(t, Config{Format: CRI, Multiline: dateStart}).feed(
		ts+" stderr F 2024-05-01 12:00:00 ERROR boom",
		ts+" stderr P java.lang.RuntimeException: ",
		ts+" stderr F a long message",
		ts+" stderr F \tat A.b(A.java:1)",
		ts+" stdout F 2024-05-01 12:00:00 INFO other",
		ts+" stderr F \tat C.d(C.java:2)",
	).flushAll()
	equal(t, "lines", r.lines(), []string{
		"2024-05-01 12:00:00 ERROR boom\njava.lang.RuntimeException: a long message\n\tat A.b(A.java:1)",
		"2024-05-01 12:00:00 INFO other",
		"\tat C.d(C.java:2)",
	})
	equal(t, "fields", fields(r.out[0]), []string{`log_time="` + ts + `"`, `stream="stderr"`})
}

func TestTruncate(t *testing.T) {
	long := strings.Repeat("é", 10) // 20 bytes
	r := newRun(t, Config{MaxBytes: 7}).feed(long, "short")
	equal(t, "lines", r.lines(), []string{"ééé", "short"}) // cut at a rune boundary
	if st := r.d.Stats(); st.Truncated != 1 || st.TruncatedBytes != 14 {
		t.Errorf("stats %+v", st)
	}

	// CRI partials of a giant line: memory stays bounded while joining.
	const ts = "2016-10-06T00:17:09.669794202Z"
	r = newRun(t, Config{Format: CRI, MaxBytes: 1000})
	piece := strings.Repeat("x", 300)
	for range 100 {
		r.feed(ts + " stdout P " + piece)
		if _, b := r.d.Pending(); b > 1000+4 {
			t.Fatalf("pending %d bytes", b)
		}
	}
	r.feed(ts + " stdout F end").feed(ts + " stdout F next")
	equal(t, "lines", r.lines(), []string{strings.Repeat("x", 1000), "next"})
	if st := r.d.Stats(); st.Truncated != 1 || st.TruncatedBytes != 100*300+3-1000 {
		t.Errorf("stats %+v", st)
	}

	// Docker partials likewise, with a multi-byte rune straddling the cut.
	r = newRun(t, Config{Format: Docker, MaxBytes: 5}).feed(
		`{"log":"abcd","stream":"stdout"}`,
		`{"log":"é and more\n","stream":"stdout"}`)
	equal(t, "lines", r.lines(), []string{"abcd"})
}

func TestDiscontinuity(t *testing.T) {
	r := newRun(t, Config{Multiline: dateStart}).feed("2024-05-01 a", "b")
	// The file was truncated (copytruncate): the next line starts at 0.
	r.out = r.d.Feed(r.out, []byte("2024-05-01 c\n"), 0, 13)
	if got := r.lines(); len(got) != 1 || got[0] != "2024-05-01 a\nb" {
		t.Fatalf("lines %q", got)
	}
	if r.d.SafeOffset() != 0 {
		t.Errorf("SafeOffset %d", r.d.SafeOffset())
	}
	r.out = r.d.FlushAll(r.out)
	if r.d.SafeOffset() != 13 || len(r.out) != 2 {
		t.Errorf("SafeOffset %d, %d records", r.d.SafeOffset(), len(r.out))
	}
}

func TestReasonString(t *testing.T) {
	seen := map[string]bool{}
	for r := range NumReasons {
		s := r.String()
		if s == "unknown" || seen[s] || strings.ToLower(s) != s {
			t.Errorf("Reason(%d) = %q", r, s)
		}
		seen[s] = true
	}
}
