package graphite

import (
	"fmt"
	"strings"
	"testing"

	"github.com/podkit/podkit/pkg/metrics-adapter/mapping"
)

const testMapping = `
mappings:
- match: app.*.requests
  name: app_requests
  labels:
    host: $1
    env: fixed
- match: app.*.drop
  name: x
  action: drop
- match: scaled.*
  name: scaled_${1}
  scale: 0.001
- match: 'cap\.(.*)'
  match_type: regex
  name: cap_$1
`

// exposeOne parses one line and formats what Expose decides:
// "name{k=v,...} value" or "drop".
func exposeOne(t *testing.T, mp *mapping.Mapper, opt ExposeOptions, line string) string {
	t.Helper()
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	p.Parse([]byte(line), handlerFunc(func(s *Sample) {
		m := Expose(s, mp, opt)
		if m.Drop {
			out = append(out, "drop")
			return
		}
		ls := make([]string, len(m.Labels))
		for i, l := range m.Labels {
			ls[i] = l.Name + "=" + l.Value
		}
		out = append(out, fmt.Sprintf("%s{%s} %g", m.Name, strings.Join(ls, ","), m.Value))
	}))
	return strings.Join(out, " | ")
}

type handlerFunc func(*Sample)

func (f handlerFunc) Sample(s *Sample)   { f(s) }
func (handlerFunc) Error(Reason, []byte) {}

func TestExpose(t *testing.T) {
	mp, err := mapping.Parse([]byte(testMapping))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mp     *mapping.Mapper
		strict bool
		line   string
		want   string
	}{
		{nil, false, "a.b-c--d:e 1 1", "a_b_c__d:e{} 1"},
		{nil, false, "1a.b;z=1;a=2 1 1", "_a_b{a=2,z=1} 1"},
		{nil, true, "a 1 1", "drop"}, // strict without a mapping file: everything dropped
		{mp, false, "other.x;k=v 2 1", "other_x{k=v} 2"},
		{mp, true, "other.x 2 1", "drop"},
		{mp, false, "app.web1.requests;env=prod;zone=a 3 1", "app_requests{env=fixed,host=web1,zone=a} 3"},
		{mp, false, "app.web1.drop 3 1", "drop"},
		{mp, false, "scaled.ms 1500 1", "scaled_ms{} 1.5"},
		{mp, false, "cap.a.b 1 1", "cap_a_b{} 1"},
		{mp, false, "app.web1.requests.more 1 1", "app_web1_requests_more{} 1"},
	} {
		if got := exposeOne(t, tc.mp, ExposeOptions{StrictMatch: tc.strict}, tc.line); got != tc.want {
			t.Errorf("%q (mapping %v, strict %v): got %q, want %q", tc.line, tc.mp != nil, tc.strict, got, tc.want)
		}
	}
}
