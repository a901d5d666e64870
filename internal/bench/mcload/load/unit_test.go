package load

import (
	"bufio"
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestValueRoundTrip(t *testing.T) {
	filler := newFiller(300)
	for _, size := range []int{len("k:1") + valueOverhead, 100, 300} {
		for _, version := range []uint64{1, 2, 25, 26, 1 << 40, 1<<64 - 1} {
			v := appendValue([]byte("junk"), []byte("k:1"), version, size, filler)[4:]
			if len(v) != size {
				t.Fatalf("size %d: value is %d bytes", size, len(v))
			}
			got, kind := checkValue(v, []byte("k:1"))
			if kind != errNone || got != version {
				t.Fatalf("size %d version %d: checkValue = %d, %v", size, version, got, kind)
			}
			if _, kind := checkValue(v, []byte("k:2")); kind != errWrongKey {
				t.Errorf("another key's value: kind %v, want wrong key", kind)
			}
			// Any single changed byte and any truncation fail the checksum.
			for i := range v {
				bad := bytes.Clone(v)
				bad[i] ^= 0x20
				if _, kind := checkValue(bad, []byte("k:1")); kind != errChecksum {
					t.Fatalf("byte %d changed: kind %v", i, kind)
				}
				if _, kind := checkValue(v[:i], []byte("k:1")); kind != errChecksum {
					t.Fatalf("cut to %d bytes: kind %v", i, kind)
				}
			}
		}
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	rng := rand.New(rand.NewPCG(1, 2))
	var vals []int64
	for range 100000 {
		v := int64(rng.ExpFloat64() * float64(200*time.Microsecond))
		vals = append(vals, v)
		h.add(v)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := float64(vals[int(q*float64(len(vals)))-1])
		got := float64(h.quantile(q))
		if got < want*0.99 || got > want*1.01 {
			t.Errorf("q%v = %v, want %v within 1%%", q, time.Duration(got), time.Duration(want))
		}
	}
	if time.Duration(h.max) != h.quantile(1) {
		t.Errorf("q1 = %v, max %v", h.quantile(1), h.max)
	}
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 1000, 1 << 30, 1<<40 - 1, 1 << 40, 1 << 62} {
		i := histIndex(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d out of range", v, i)
		}
		if v < 1<<40 {
			if mid := histValue(i); mid < v*99/100 || mid > v*101/100+1 {
				t.Errorf("histValue(histIndex(%d)) = %d", v, mid)
			}
		}
	}
}

func TestConfig(t *testing.T) {
	ok := Config{Addrs: []string{"x:1"}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no address", func(c *Config) { c.Addrs = nil }, "Addrs"},
		{"negative conns", func(c *Config) { c.Conns = -1 }, "Conns"},
		{"fewer keys than conns", func(c *Config) { c.Keys, c.Conns = 3, 4 }, "Keys"},
		{"multiget over keys", func(c *Config) { c.Keys, c.Multiget = 5, 6 }, "Multiget"},
		{"value too small for key", func(c *Config) { c.ValueSize = 20 }, "ValueSize"},
		{"value too large", func(c *Config) { c.ValueSize = 2 << 20 }, "ValueSize"},
		{"space in prefix", func(c *Config) { c.KeyPrefix = "a b" }, "KeyPrefix"},
		{"key too long", func(c *Config) { c.KeyPrefix = strings.Repeat("k", 250) }, "KeyPrefix"},
		{"negative weight", func(c *Config) { c.GetWeight = -1 }, "GetWeight"},
		{"pipeline too deep", func(c *Config) { c.Pipeline = 1 << 20 }, "Pipeline"},
		{"negative ops", func(c *Config) { c.Ops = -1 }, "Ops"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.change(&c)
			err := c.Validate()
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an ErrConfig naming %s", err, tc.want)
			}
			if _, err := Run(t.Context(), c); !errors.Is(err, ErrConfig) {
				t.Errorf("Run() = %v, want ErrConfig", err)
			}
		})
	}
}

// A refused connection is an error from Run, not a run full of errors.
func TestRunDialFails(t *testing.T) {
	s := startFake(t, faultNone, 1, 0)
	addr := s.addr()
	s.ln.Close()
	if _, err := Run(t.Context(), Config{Addrs: []string{addr}, Ops: 10}); err == nil {
		t.Fatal("no error")
	}
}

// responseSeeds are get responses for the keys mcload:1 and mcload:2.
func responseSeeds() [][]byte {
	filler := newFiller(100)
	v1 := appendValue(nil, []byte("mcload:1"), 3, 100, filler)
	v2 := appendValue(nil, []byte("mcload:2"), 1, 100, filler)
	return [][]byte{
		[]byte("END\r\n"),
		append(append([]byte("VALUE mcload:1 3 100\r\n"), v1...), "\r\nEND\r\n"...),
		append(append(append(append([]byte("VALUE mcload:1 3 100\r\n"), v1...), "\r\nVALUE mcload:2 1 100 77\r\n"...), v2...), "\r\nEND\r\n"...),
		append(append([]byte("VALUE mcload:2 3 100\r\n"), v1...), "\r\nEND\r\n"...),
		[]byte("VALUE mcload:1 3 5\r\nabc\r\n\r\nEND\r\n"),
		[]byte("SERVER_ERROR out of memory\r\n"),
		[]byte("VALUE mcload:1 3 99999999999999\r\n"),
		[]byte("STORED\r\n"),
	}
}

// The response parser never panics or hangs on any input: it returns an
// error, or counts what it read.
func FuzzReadResponse(f *testing.F) {
	for _, s := range responseSeeds() {
		f.Add(s, false, false)
		f.Add(s, true, true)
	}
	sh := &shared{cfg: Config{Keys: 10, KeyPrefix: "mcload:"}, acked: make([]atomic.Uint64, 10)}
	f.Fuzz(func(t *testing.T, in []byte, set, bigBuffer bool) {
		c := codec{shared: sh}
		size := 16 // values do not fit: read into scratch
		if bigBuffer {
			size = 4096 // they do: read in place
		}
		r := bufio.NewReaderSize(bytes.NewReader(in), size)
		req := &request{op: opGet, keys: []int{1, 2}, floor: []uint64{0, 2}}
		if set {
			req = &request{op: opSet, keys: []int{3}, version: 1}
		}
		var st stats
		for range 4 {
			if err := c.readResponse(r, req, &st); err != nil {
				return
			}
		}
	})
}
