package syslog

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/podkit/podkit/pkg/logsaver/record"
)

// parsed is an RFC 5424 message as a strict reader sees it.
type parsed struct {
	PRI                            int
	Time, Host, App, ProcID, MsgID string
	SDID                           string
	Params                         [][2]string
	Msg                            []byte
}

// parseFrame splits one octet-counted frame (RFC 6587 3.4.1) off b.
func parseFrame(b []byte) (msg, rest []byte, err error) {
	sp := bytes.IndexByte(b, ' ')
	if sp <= 0 {
		return nil, nil, errors.New("no MSG-LEN")
	}
	n, err := strconv.Atoi(string(b[:sp]))
	if err != nil || n <= 0 || b[0] == '0' || sp+1+n > len(b) {
		return nil, nil, fmt.Errorf("bad MSG-LEN %q", b[:sp])
	}
	return b[sp+1 : sp+1+n], b[sp+1+n:], nil
}

// parseMessage reads RFC 5424's SYSLOG-MSG with one SD-ELEMENT.
func parseMessage(b []byte) (p parsed, err error) {
	field := func() (string, error) {
		i := bytes.IndexByte(b, ' ')
		if i <= 0 {
			return "", errors.New("missing field")
		}
		f := string(b[:i])
		b = b[i+1:]
		return f, nil
	}
	if len(b) < 4 || b[0] != '<' {
		return p, errors.New("no PRI")
	}
	end := bytes.IndexByte(b, '>')
	if end < 2 || end > 4 {
		return p, errors.New("bad PRI")
	}
	if p.PRI, err = strconv.Atoi(string(b[1:end])); err != nil || p.PRI > 191 {
		return p, errors.New("bad PRI")
	}
	b = b[end+1:]
	if !bytes.HasPrefix(b, []byte("1 ")) {
		return p, errors.New("bad VERSION")
	}
	b = b[2:]
	for _, dst := range []*string{&p.Time, &p.Host, &p.App, &p.ProcID, &p.MsgID} {
		if *dst, err = field(); err != nil {
			return p, err
		}
		if !printASCII(*dst, 255) && *dst != "-" {
			return p, fmt.Errorf("field %q not PRINTUSASCII", *dst)
		}
	}
	if len(b) == 0 || b[0] != '[' {
		return p, errors.New("no SD-ELEMENT")
	}
	b = b[1:]
	i := bytes.IndexAny(b, " ]")
	if i <= 0 || !validSDName(string(b[:i])) {
		return p, errors.New("bad SD-ID")
	}
	p.SDID, b = string(b[:i]), b[i:]
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
		eq := bytes.IndexByte(b, '=')
		if eq <= 0 || !validSDName(string(b[:eq])) || len(b) < eq+2 || b[eq+1] != '"' {
			return p, errors.New("bad SD-PARAM")
		}
		name := string(b[:eq])
		b = b[eq+2:]
		var v []byte
		for {
			if len(b) == 0 {
				return p, errors.New("unterminated PARAM-VALUE")
			}
			c := b[0]
			b = b[1:]
			if c == '"' {
				break
			}
			if c == ']' {
				return p, errors.New("unescaped ] in PARAM-VALUE")
			}
			if c == '\\' && len(b) > 0 && (b[0] == '"' || b[0] == '\\' || b[0] == ']') {
				c, b = b[0], b[1:]
			}
			v = append(v, c)
		}
		if !utf8.Valid(v) {
			return p, errors.New("PARAM-VALUE not UTF-8")
		}
		p.Params = append(p.Params, [2]string{name, string(v)})
	}
	if len(b) == 0 || b[0] != ']' {
		return p, errors.New("unterminated SD-ELEMENT")
	}
	b = b[1:]
	if len(b) > 0 {
		if b[0] != ' ' {
			return p, errors.New("no SP before MSG")
		}
		p.Msg = b[1:]
	}
	return p, nil
}

func testSink(t testing.TB, url string, labels []record.Label) *Sink {
	t.Helper()
	s, err := New(Config{URL: url, Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var formatTests = []struct {
	name string
	rec  record.Record
	want string
}{
	{"plain", record.Record{Line: []byte("hello"), File: "/var/log/a.log", Offset: 42, Time: time.Date(2026, 11, 29, 10, 15, 0, 123456789, time.UTC)},
		`<134>1 2026-11-29T10:15:00.123456Z web-0 app - - [podkit@32473 file="/var/log/a.log" offset="42" pod="web-0" x_y="v\]\"\\"] hello`},
	{"escapes and newlines", record.Record{Line: []byte("a]\"\\\nb ü"), File: `/l/"q"\]`, Offset: 0, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))},
		"<134>1 2026-01-02T02:04:05.000000Z web-0 app - - [podkit@32473 file=\"/l/\\\"q\\\"\\\\\\]\" offset=\"0\" pod=\"web-0\" x_y=\"v\\]\\\"\\\\\"] a]\"\\\nb ü"},
	{"empty line, no time, bad UTF-8 file", record.Record{File: "a\xffb"},
		`<134>1 - web-0 app - - [podkit@32473 file="a` + "\uFFFD" + `b" offset="0" pod="web-0" x_y="v\]\"\\"]`},
}

func TestFormat(t *testing.T) {
	s := testSink(t, "syslog+tcp://127.0.0.1:514?facility=local0&app-name=app&hostname=web-0",
		[]record.Label{{Name: "pod", Value: "web-0"}, {Name: "x y", Value: `v]"\`}, {Name: "file", Value: "dup"}, {Name: "pod", Value: "dup"}})
	for _, tc := range formatTests {
		t.Run(tc.name, func(t *testing.T) {
			frame := s.appendFrame([]byte("prev"), &tc.rec)
			want := "prev" + strconv.Itoa(len(tc.want)) + " " + tc.want
			if string(frame) != want {
				t.Fatalf("got  %q\nwant %q", frame, want)
			}
			msg, rest, err := parseFrame(frame[4:])
			if err != nil || len(rest) != 0 {
				t.Fatalf("frame: %v, rest %q", err, rest)
			}
			if _, err := parseMessage(msg); err != nil {
				t.Fatalf("parse: %v", err)
			}
		})
	}
}

func TestSDName(t *testing.T) {
	for in, want := range map[string]string{
		"app":                    "app",
		"app.kubernetes.io/name": "app.kubernetes.io/name",
		"a b=c]d\"e":             "a_b_c_d_e",
		"":                       "_",
		"ü":                      "__",
		"0123456789012345678901234567890123456789": "01234567890123456789012345678901",
	} {
		if got := sdName(in); got != want || !validSDName(got) {
			t.Errorf("sdName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzFormat: whatever the line, file, label and time, the frame parses
// back (strictly) to the same fields.
func FuzzFormat(f *testing.F) {
	for _, tc := range formatTests {
		f.Add(tc.rec.Line, tc.rec.File, tc.rec.Offset, tc.rec.Time.UnixNano(), "x y", `v]"\`)
	}
	f.Fuzz(func(t *testing.T, line []byte, file string, offset, nanos int64, labelName, labelValue string) {
		s := testSink(t, "syslog+tcp://127.0.0.1:514?facility=local7&severity=debug&app-name=a&hostname=h",
			[]record.Label{{Name: labelName, Value: labelValue}})
		r := record.Record{Line: line, File: file, Offset: offset, Time: time.Unix(0, nanos)}
		frame := s.appendFrame(nil, &r)
		msg, rest, err := parseFrame(frame)
		if err != nil || len(rest) != 0 {
			t.Fatalf("frame %q: %v, rest %q", frame, err, rest)
		}
		p, err := parseMessage(msg)
		if err != nil {
			t.Fatalf("message %q: %v", msg, err)
		}
		if p.PRI != 23*8+7 || p.Host != "h" || p.App != "a" || p.ProcID != "-" || p.MsgID != "-" || p.SDID != DefaultSDID {
			t.Fatalf("header %+v", p)
		}
		if !bytes.Equal(p.Msg, line) && !(len(line) == 0 && p.Msg == nil) {
			t.Fatalf("msg %q, want %q", p.Msg, line)
		}
		wantTime := r.Time.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000Z")
		if p.Time != wantTime {
			t.Fatalf("time %q, want %q", p.Time, wantTime)
		}
		want := [][2]string{{"file", string([]rune(file))}, {"offset", strconv.FormatInt(offset, 10)}}
		if n := sdName(labelName); n != "file" && n != "offset" {
			want = append(want, [2]string{n, string([]rune(labelValue))})
		}
		if fmt.Sprint(p.Params) != fmt.Sprint(want) {
			t.Fatalf("params %q, want %q", p.Params, want)
		}
	})
}
