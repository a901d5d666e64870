package hashkit

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
)

var ringNameTests = []struct {
	s       Server
	want    string
	wantErr string
}{
	{s: Server{Addr: "127.0.0.1:22122", Name: "cache-1"}, want: "cache-1"},
	{s: Server{Addr: "127.0.0.1:11211", Name: "cache-1"}, want: "cache-1"},
	{s: Server{Addr: "127.0.0.1:11211"}, want: "127.0.0.1"},
	{s: Server{Addr: "127.0.0.1:011211"}, want: "127.0.0.1"},
	{s: Server{Addr: "127.0.0.1:22122"}, want: "127.0.0.1:22122"},
	{s: Server{Addr: "mc.example:022122"}, want: "mc.example:022122"},
	{s: Server{Addr: "fe80::1:11211"}, want: "fe80::1"},
	{s: Server{Addr: "fe80::1:11212"}, want: "fe80::1:11212"},
	{s: Server{Addr: "/run/memcached.sock"}, want: "/run/memcached.sock:"},
	{s: Server{}, wantErr: "no address"},
	{s: Server{Addr: "mc.example"}, wantErr: "no port"},
	{s: Server{Addr: ":11211"}, wantErr: "no host"},
	{s: Server{Addr: "h:"}, wantErr: "invalid port"},
	{s: Server{Addr: "h:x1"}, wantErr: "invalid port"},
	{s: Server{Addr: "h:0"}, wantErr: "invalid port"},
	{s: Server{Addr: "h:65536"}, wantErr: "invalid port"},
	{s: Server{Addr: "h:99999999999999999999"}, wantErr: "invalid port"},
	{s: Server{Addr: "h:+1"}, wantErr: "invalid port"},
}

func TestRingName(t *testing.T) {
	for _, tt := range ringNameTests {
		got, err := RingName(tt.s)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("RingName(%+v) error = %v, want %q", tt.s, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("RingName(%+v) = %q, %v; want %q", tt.s, got, err, tt.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	one := []Server{{Addr: "a:1"}}
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Hash: "sha1", Servers: one}, "hash: unknown hash"},
		{Config{Distribution: "vnode", Servers: one}, "distribution: unknown"},
		{Config{HashTag: "{", Servers: one}, "hash_tag: must be two bytes"},
		{Config{HashTag: "{{}", Servers: one}, "hash_tag: must be two bytes"},
		{Config{}, "servers: none given"},
		{Config{Servers: []Server{{Addr: "a:1"}, {Addr: "b"}}}, "servers[1]: address \"b\" has no port"},
		{Config{Servers: []Server{{Addr: "a:1", Weight: -1}}}, "servers[0] (a:1): weight must be"},
		{Config{Servers: []Server{{Addr: "a:1", Weight: math.MaxInt32 + 1}}}, "weight must be"},
		{Config{Servers: []Server{{Addr: "a:1", Weight: math.MaxInt32}, {Addr: "a:2", Weight: math.MaxInt32}, {Addr: "a:3", Weight: 2}}}, "total weight"},
		// Names clash, given or derived: twemproxy refuses such pools.
		{Config{Servers: []Server{{Addr: "a:1", Name: "x"}, {Addr: "b:1", Name: "x"}}}, "servers[0] and servers[1]: same name \"x\""},
		{Config{Servers: []Server{{Addr: "a:11211"}, {Addr: "b:1", Name: "a"}}}, "same name \"a\""},
		{Config{Servers: []Server{{Addr: "a:11211"}, {Addr: "a:011211"}}}, "same name \"a\""},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "hashkit: ") {
			t.Errorf("New(%+v) error = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

// twemproxy sorts a pool's servers by name, shorter names first, then
// bytewise as unsigned bytes; modula's order, and the winner of a ketama
// tie, follow from it.
func TestServerOrder(t *testing.T) {
	r, err := New(Config{Servers: []Server{
		{Addr: "h:1", Name: "mc-server-2"},
		{Addr: "h:2", Name: "mc1"},
		{Addr: "h:3", Name: "mc\xc3\xa9"},
		{Addr: "h:4", Name: "mc-z"},
		{Addr: "h:11211"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range r.servers {
		got = append(got, s.ringName)
	}
	want := []string{"h", "mc1", "mc-z", "mc\xc3\xa9", "mc-server-2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("order %q, want %q", got, want)
	}
}

func TestKetamaPoints(t *testing.T) {
	// Weights 1, 2, 4, 8, 10 over five servers: single precision gives
	// 28/60/124/252/320 points; double precision would give
	// 32/64/128/256/320 and move about one key in ten.
	want := map[uint32]uint32{1: 28, 2: 60, 4: 124, 8: 252, 10: 320}
	for w, n := range want {
		if got := ketamaPoints(w, 25, 5); got != n {
			t.Errorf("ketamaPoints(%d, 25, 5) = %d, want %d", w, got, n)
		}
	}
	// Equal weights: 160 points each, except for some pool sizes where
	// single precision lands just under 40 groups (the side-by-side test's
	// 25-server pool shows nutcracker doing the same).
	short := map[int]bool{25: true, 47: true, 50: true, 55: true, 61: true, 71: true, 94: true, 100: true}
	for n := 1; n <= 100; n++ {
		want := uint32(160)
		if short[n] {
			want = 156
		}
		if got := ketamaPoints(1, uint32(n), n); got != want {
			t.Errorf("%d equal servers: %d points each, want %d", n, got, want)
		}
	}
}

func TestKetamaPointName(t *testing.T) {
	if got := string(ketamaPointName(nil, "127.0.0.1:11212", 39)); got != "127.0.0.1:11212-39" {
		t.Errorf("point name %q", got)
	}
	long := strings.Repeat("n", 270)
	if got := string(ketamaPointName(nil, long, 9)); got != long+"-9" {
		t.Errorf("272-byte point name changed: %q", got)
	}
	if got := string(ketamaPointName(nil, long, 23)); got != long+"-2" {
		t.Errorf("273-byte point name not cut to 272 bytes: %q", got[260:])
	}
}

func TestHashTag(t *testing.T) {
	r, err := New(Config{HashTag: "{}", Servers: []Server{{Addr: "a:1"}, {Addr: "b:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ key, hashed string }{
		{"user:{42}:name", "42"},
		{"{42}", "42"},
		{"{42}{43}", "42"},
		{"a{4{2}b", "4{2"},
		{"a{}b", "a{}b"},   // empty tag: the whole key
		{"a}b{c", "a}b{c"}, // no closing byte after the opening one
		{"a{bc", "a{bc"},
		{"abc", "abc"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := string(r.tagged([]byte(tt.key))); got != tt.hashed {
			t.Errorf("tagged(%q) = %q, want %q", tt.key, got, tt.hashed)
		}
		if tt.key != "" && r.KeyHash([]byte(tt.key)) != HashFNV64a.Sum([]byte(tt.hashed)) {
			t.Errorf("KeyHash(%q) is not fnv1a_64(%q)", tt.key, tt.hashed)
		}
	}
	same, err := New(Config{HashTag: "$$", Servers: []Server{{Addr: "a:1"}, {Addr: "b:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(same.tagged([]byte("x$tag$y"))); got != "tag" {
		t.Errorf("tag \"$$\": %q", got)
	}
}

func TestKeyHashZero(t *testing.T) {
	single, _ := New(Config{Servers: []Server{{Addr: "a:1"}}})
	if single.KeyHash([]byte("apple")) != 0 || single.Pick([]byte("apple")) != 0 {
		t.Error("one-server pool hashes")
	}
	two, _ := New(Config{Servers: []Server{{Addr: "a:1"}, {Addr: "b:1"}}})
	if two.KeyHash(nil) != 0 {
		t.Error("empty key hashes to non-zero")
	}
}

var testServers = []Server{
	{Addr: "10.0.0.1:11211", Weight: 1},
	{Addr: "10.0.0.2:11211", Weight: 3},
	{Addr: "10.0.0.3:11211", Weight: 2, Name: "third"},
	{Addr: "10.0.0.4:22122", Weight: 5},
	{Addr: "/run/mc.sock", Weight: 1},
}

func testKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key:%d:\xff%d", i, i*7)
	}
	return keys
}

// A ring with dead servers places keys as a pool of only the live servers
// would: that is what twemproxy's rebuild on ejection amounts to.
func TestWithLive(t *testing.T) {
	for _, d := range []Distribution{Ketama, Modula} {
		full, err := New(Config{Distribution: d, Servers: testServers})
		if err != nil {
			t.Fatal(err)
		}
		for mask := 1; mask < 1<<len(testServers); mask++ {
			live := make([]bool, len(testServers))
			var sub []Server
			var subIdx []int
			for i := range live {
				if live[i] = mask&(1<<i) != 0; live[i] {
					sub = append(sub, testServers[i])
					subIdx = append(subIdx, i)
				}
			}
			r, err := full.WithLive(live)
			if err != nil {
				t.Fatal(err)
			}
			alone, err := New(Config{Distribution: d, Servers: sub})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range testKeys(500) {
				got := r.Pick(k)
				if !r.Live(got) {
					t.Fatalf("%s mask %b: key on dead server %d", d, mask, got)
				}
				if want := subIdx[alone.Pick(k)]; got != want {
					t.Fatalf("%s mask %b: key %q on %d, a pool of the live servers puts it on %d", d, mask, k, got, want)
				}
			}
		}
	}
	r, _ := New(Config{Servers: testServers})
	if _, err := r.WithLive(make([]bool, len(testServers))); !errors.Is(err, ErrNoLiveServers) {
		t.Errorf("no live servers: %v", err)
	}
	if _, err := r.WithLive([]bool{true}); err == nil {
		t.Error("short live mask accepted")
	}
}

// Modula: hash modulo the total weight, each server taking as many
// consecutive slots as its weight, in twemproxy's server order.
func TestModula(t *testing.T) {
	r, err := New(Config{Distribution: Modula, Servers: testServers})
	if err != nil {
		t.Fatal(err)
	}
	var slots []int
	for _, s := range r.servers {
		for range s.weight {
			slots = append(slots, int(s.index))
		}
	}
	for h := range uint32(3 * len(slots)) {
		if got, want := r.dispatchModula(h), slots[h%uint32(len(slots))]; got != want {
			t.Fatalf("hash %d: server %d, want %d", h, got, want)
		}
	}
}

func TestRandom(t *testing.T) {
	r, err := New(Config{Distribution: Random, Servers: testServers})
	if err != nil {
		t.Fatal(err)
	}
	live := []bool{true, false, true, true, false}
	r, err = r.WithLive(live)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]int{}
	for range 3000 {
		seen[r.Pick([]byte("same key"))]++
	}
	for i, l := range live {
		if l != (seen[i] > 0) {
			t.Errorf("server %d (live %v) picked %d times", i, l, seen[i])
		}
	}
}

func TestPickConcurrent(t *testing.T) {
	r, err := New(Config{Servers: testServers})
	if err != nil {
		t.Fatal(err)
	}
	keys := testKeys(1000)
	want := make([]int, len(keys))
	for i, k := range keys {
		want[i] = r.Pick(k)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i, k := range keys {
				if got := r.Pick(k); got != want[i] {
					t.Errorf("key %q: %d then %d", k, want[i], got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestPickAllocs(t *testing.T) {
	key := []byte("user:{12345}:profile:\xe9")
	for _, h := range Hashes() {
		for _, d := range []Distribution{Ketama, Modula, Random} {
			r, err := New(Config{Hash: h, Distribution: d, HashTag: "{}", Servers: testServers})
			if err != nil {
				t.Fatal(err)
			}
			if n := testing.AllocsPerRun(100, func() { r.Pick(key) }); n != 0 {
				t.Errorf("%s/%s: %v allocations per Pick", h, d, n)
			}
		}
	}
}
