package load

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		i    int
		want string
	}{
		{"counter", Config{Addr: "x"}, 7, "statsdload.counter:1|c|#series:7\n"},
		{"series wraps", Config{Addr: "x", Series: 5}, 7, "statsdload.counter:1|c|#series:2\n"},
		{"first", Config{Addr: "x", Series: 5, First: 100}, 7, "statsdload.counter:1|c|#series:102\n"},
		{"types in turn", Config{Addr: "x", Types: []string{"counter", "timer"}}, 5, "statsdload.timer:15|ms|#series:2\n"},
		{"gauge", Config{Addr: "x", Types: []string{"gauge"}}, 3, "statsdload.gauge:3|g|#series:3\n"},
		{"set", Config{Addr: "x", Types: []string{"set"}}, 3, "statsdload.set:m3|s|#series:3\n"},
		{"dogstatsd tags", Config{Addr: "x", Tags: []string{"env:prod", "app:web"}}, 1, "statsdload.counter:1|c|#series:1,env:prod,app:web\n"},
		{"influx", Config{Addr: "x", Style: "influx", Tags: []string{"env:prod"}}, 1, "statsdload.counter,series=1,env=prod:1|c\n"},
		{"librato", Config{Addr: "x", Style: "librato"}, 1, "statsdload.counter#series=1:1|c\n"},
		{"signalfx", Config{Addr: "x", Style: "signalfx", Tags: []string{"env:prod"}}, 1, "statsdload.counter[series=1,env=prod]:1|c\n"},
		{"none", Config{Addr: "x", Style: "none", Prefix: "a.b"}, 4, "a.b.counter.4:1|c\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.Line(tc.i); got != tc.want {
				t.Errorf("Line(%d) = %q, want %q", tc.i, got, tc.want)
			}
		})
	}
}

// Datagrams hold whole lines up to Size, every series equally often, and
// their counts add up.
func TestBuild(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"packed", Config{Addr: "x", Series: 1000, Size: 1400}},
		{"one line", Config{Addr: "x", Series: 1000, OneLine: true}},
		{"small cycle repeats", Config{Addr: "x", Series: 3, Types: []string{"counter", "gauge", "timer", "set"}, Size: 200}},
		{"big cycle", Config{Addr: "x", Series: 20000, Size: 9000, Tags: []string{"env:prod"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Build(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			c := tc.cfg.withDefaults()
			perSeries := map[string]int{}
			var lines, counted, size int
			for i, d := range p.Datagrams {
				size += len(d.Data)
				if len(d.Data) > c.Size {
					t.Fatalf("datagram %d: %d bytes, over %d", i, len(d.Data), c.Size)
				}
				if !bytes.HasSuffix(d.Data, []byte("\n")) {
					t.Fatalf("datagram %d does not end a line: %q", i, d.Data)
				}
				ls := strings.Split(strings.TrimSuffix(string(d.Data), "\n"), "\n")
				if len(ls) != d.Lines || (c.OneLine && d.Lines != 1) {
					t.Fatalf("datagram %d: %d lines, says %d", i, len(ls), d.Lines)
				}
				n := 0
				for _, l := range ls {
					perSeries[l]++
					if strings.Contains(l, "|c") || strings.Contains(l, "|ms") {
						n++
					}
				}
				if n != d.Counted {
					t.Fatalf("datagram %d: %d counters and timers, says %d", i, n, d.Counted)
				}
				lines, counted = lines+d.Lines, counted+d.Counted
				// Packed: the next line would not have fit.
				if !c.OneLine && i+1 < len(p.Datagrams) {
					next, _, _ := bytes.Cut(p.Datagrams[i+1].Data, []byte("\n"))
					if len(d.Data)+len(next)+1 <= c.Size {
						t.Fatalf("datagram %d: %d bytes, and the next line (%d) would fit", i, len(d.Data), len(next)+1)
					}
				}
			}
			if size != p.Bytes {
				t.Errorf("Bytes %d, datagrams hold %d", p.Bytes, size)
			}
			if want := c.Series * len(c.Types); len(perSeries) != want {
				t.Errorf("%d distinct lines, want %d", len(perSeries), want)
			}
			reps := lines / len(perSeries)
			if lines%len(perSeries) != 0 {
				t.Errorf("%d lines: not whole cycles of %d", lines, len(perSeries))
			}
			for l, n := range perSeries {
				if n != reps {
					t.Fatalf("%q sent %d times per payload, others %d", l, n, reps)
				}
			}
			if size < minPayload && reps > 1 {
				t.Errorf("%d bytes after %d cycles: stopped repeating too early", size, reps)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{
		{},
		{Addr: "x", Network: "sctp"},
		{Addr: "x", Types: []string{"histogram"}},
		{Addr: "x", Style: "graphite"},
		{Addr: "x", Tags: []string{"env"}},
		{Addr: "x", Tags: []string{"series:1"}},
		{Addr: "x", Tags: []string{"a:b"}, Style: "none"},
		{Addr: "x", Prefix: "a|b"},
		{Addr: "x", Size: 10},
		{Addr: "x", Series: -1},
		{Addr: "x", Rate: -1},
	} {
		if _, err := Build(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err %v, want ErrConfig", c, err)
		}
	}
}
