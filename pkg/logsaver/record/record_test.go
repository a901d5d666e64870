package record

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestAppendNDJSON(t *testing.T) {
	r := Record{
		Line: []byte("hello \"x\"\t\x01 \xff é\u2028"), File: "/var/log/app.log", Offset: 42,
		Time:   time.Date(2026, 11, 29, 10, 0, 0, 5, time.UTC),
		Fields: []Field{{"level", json.RawMessage(`"info"`)}, {"line", json.RawMessage(`"dup"`)}, {"bad", json.RawMessage(`{`)}, {"n", json.RawMessage(`3`)}},
	}
	out := AppendNDJSON(nil, &r, []Label{{"pod", "web-1"}, {"file", "dup"}, {"pod", "again"}})
	if !strings.HasSuffix(string(out), "}\n") || strings.Count(string(out), "\n") != 1 {
		t.Fatalf("not one line: %q", out)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("invalid JSON %q: %v", out, err)
	}
	want := map[string]any{"line": "hello \"x\"\t\x01 \ufffd é\u2028", "file": "/var/log/app.log", "offset": 42.0,
		"time": "2026-11-29T10:00:00.000000005Z", "pod": "web-1", "level": "info", "n": 3.0}
	if len(got) != len(want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
}

func FuzzAppendNDJSON(f *testing.F) {
	f.Add([]byte("plain"), "k", []byte(`{"a":1}`))
	f.Add([]byte("\xff\xfe\x00"), "", []byte(`nope`))
	f.Fuzz(func(t *testing.T, line []byte, name string, value []byte) {
		r := Record{Line: line, File: name, Fields: []Field{{name, value}}}
		out := AppendNDJSON(nil, &r, []Label{{name, string(line)}})
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("invalid JSON for %q: %v: %s", line, err, out)
		}
		// encoding/json is the reference: each invalid byte becomes U+FFFD.
		ref, _ := json.Marshal(string(line))
		var want string
		json.Unmarshal(ref, &want)
		if m["line"] != want {
			t.Fatalf("line %q came back as %q", want, m["line"])
		}
	})
}

// An Encoder reused across records of several files and times writes what
// AppendNDJSON writes for each alone: its caches never leak.
func TestEncoderReuse(t *testing.T) {
	labels := []Label{{"pod", "p"}, {"time", "x"}}
	e := NewEncoder(labels)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for i, r := range []Record{
		{Line: []byte("a"), File: "/x", Offset: 1, Time: t0},
		{Line: []byte("b"), File: "/x", Offset: 2, Time: t0},
		{Line: []byte("c"), File: "/y", Offset: 3, Time: t0},
		{Line: []byte("d\xff"), File: "/y", Offset: 4, Time: t0.Add(time.Second), Fields: []Field{{"pod", json.RawMessage(`1`)}, {"k", json.RawMessage(`"v"`)}}},
		{Line: []byte("e"), File: "/x", Offset: 5, Time: t0},
	} {
		if got, want := string(e.Append(nil, &r)), string(AppendNDJSON(nil, &r, labels)); got != want {
			t.Errorf("record %d: %s, want %s", i, got, want)
		}
	}
}
