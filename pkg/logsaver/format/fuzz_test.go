package format

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzRun feeds data split into lines to a decoder with small bounds,
// flushing after every third line, and lets run.check verify the offset
// invariants, bounds and NDJSON validity at every step.
func fuzzRun(t *testing.T, cfg Config, data []byte) *run {
	cfg.MaxBytes, cfg.MaxLines = 64, 4
	r := newRun(t, cfg)
	for i, l := range bytes.SplitAfter(data, []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		end := r.pos + int64(len(l))
		r.out = r.d.Feed(r.out, l, r.pos, end)
		r.pos = end
		r.check()
		if i%3 == 2 {
			r.flush(600 * time.Millisecond)
		}
	}
	r.flushAll()
	for _, e := range r.out {
		for _, f := range e.Fields {
			if !json.Valid(f.Value) {
				t.Fatalf("field %q=%q", f.Name, f.Value)
			}
		}
	}
	st := r.d.Stats()
	if st.Records != uint64(len(r.out)) {
		t.Fatalf("Records %d, emitted %d", st.Records, len(r.out))
	}
	return r
}

func seed(f *testing.F, lines ...string) {
	f.Add([]byte(strings.Join(lines, "\n") + "\n"))
}

func FuzzCRI(f *testing.F) {
	const ts = "2016-10-06T00:17:09.669794202Z"
	seed(f, ts+" stdout F one", ts+" stdout P two ", ts+" stdout P caf\xc3", ts+" stdout F \xa9", ts+" stderr F x\r")
	seed(f, ts+" stdout P a", ts+" stderr F b", "garbage", ts+" stdout F:x c", ts+" stdout  d")
	seed(f, ts+" stderr F 2024-05-01 12:00:00 ERROR", ts+" stderr F \tat x", ts+" stdout P "+strings.Repeat("y", 100))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRun(t, Config{Format: CRI}, data)
		fuzzRun(t, Config{Format: CRI, Multiline: dateStart}, data)
	})
}

func FuzzDocker(f *testing.F) {
	seed(f, `{"log":"hello\n","stream":"stdout","time":"2019-01-01T11:11:11.111111111Z"}`,
		`{"log":"\u003cb\u003e part ","stream":"stderr","time":"t"}`, `{"log":"2\r\n","stream":"stderr"}`)
	seed(f, `{"log":42}`, `{"stream":"stdin","log":"x"}`, `not json`, `{"log":"x","attrs":{"a":[1,{"b":"}"}]}}`)
	seed(f, "{\"log\":\"caf\xc3\",\"stream\":\"stdout\"}", "{\"log\":\"\xa9\\n\",\"stream\":\"stdout\"}")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRun(t, Config{Format: Docker}, data)
	})
}

func FuzzJSON(f *testing.F) {
	seed(f, `{"time":"2024-05-01T12:00:00Z","level":"INFO","msg":"started","port":8080}`,
		`{"message":"a \"q\" \u00e9\n","severity":"E"}`, `{"msg":{"k":[1,{"x":"}"}]},"n":null}`)
	seed(f, `{"l\u0065vel":"x","line":1,"time":2}`, `{"msg":"\ud83d\ude00 \ud83d x"}`, `[1]`, `{"a":`, ``)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := fuzzRun(t, Config{Format: JSON}, data)
		// Differential check of the member scanner against encoding/json,
		// on single-line inputs that are one JSON object.
		line := trimEOL(data)
		if bytes.IndexByte(line, '\n') >= 0 || !json.Valid(line) || len(line) > 64 || !utf8.Valid(line) {
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(line, &m) != nil {
			return
		}
		want := map[string]bool{}
		for k := range m {
			switch k {
			case "line", "file", "offset", "time":
				k = "log_" + k
			}
			want[k] = true
		}
		got := map[string]bool{}
		for _, f := range r.out[0].Fields {
			got[f.Name] = true
			var v any
			if json.Unmarshal(f.Value, &v) != nil {
				t.Fatalf("field %s: value %q", f.Name, f.Value)
			}
		}
		for _, k := range []string{"msg", "message"} {
			var s string
			if json.Unmarshal(m[k], &s) == nil && !got[k] {
				got[k] = true
				if s != string(r.out[0].Line) {
					t.Fatalf("line %q, encoding/json says %q", r.out[0].Line, s)
				}
			}
		}
		if !maps.Equal(got, want) {
			t.Fatalf("names %v, encoding/json says %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
	})
}

func FuzzMultiline(f *testing.F) {
	seed(f, strings.Split(javaTrace, "\n")...)
	seed(f, "x", "2024-05-01 a", "1", "2", "3", "4", "5", "2024-05-01 b", strings.Repeat("z", 70), "é\r")
	f.Fuzz(func(t *testing.T, data []byte) {
		r := fuzzRun(t, Config{Multiline: dateStart}, data)
		// Nothing is lost: the output holds every input byte (less line
		// endings), plus one '\n' per join, less what was counted cut.
		st := r.d.Stats()
		in := 0
		for _, l := range bytes.SplitAfter(data, []byte("\n")) {
			if len(l) > 0 {
				in += len(trimEOL(l))
			}
		}
		out := 0
		for _, e := range r.out {
			out += len(e.Line)
		}
		if uint64(out)+st.TruncatedBytes != uint64(in)+st.Lines-st.Records {
			t.Fatalf("out %d + cut %d != in %d + joins %d", out, st.TruncatedBytes, in, st.Lines-st.Records)
		}
	})
}
