package hashkit

// The side-by-side test: Debian's nutcracker (twemproxy 0.5.0) and real
// memcached servers on loopback. For every pool below, thousands of keys are
// SET through nutcracker; a direct GET to each of the pool's memcached
// servers finds where nutcracker put each key, and Ring.Pick must name the
// same server, key by key.
//
// One nutcracker serves every pool, each on its own unix socket, and all
// pools share the memcached servers; keys carry a two-byte per-pool prefix
// so that pools never see each other's keys.

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/podkit/podkit/internal/proctest"
)

const (
	sideKeysPerPool = 2000
	// The hosts of the servers on the default port: 127.0.0.1:11211 is often
	// taken by a system memcached, the rest of 127.0.0.0/8 rarely.
	defaultPortHosts = "127.0.0.2 127.0.0.3 127.0.0.4"
)

// sidePool is one nutcracker pool and what the test expects of it.
type sidePool struct {
	name    string
	cfg     Config
	eject   int // index of a dead server (auto_eject_hosts), or -1
	extra   []string
	conns   []mcServer // by server index; the dead one is zero
	keys    [][]byte
	sock    string
	tieKeys int // keys chosen to land on a tied continuum point
	variant string
}

func (p *sidePool) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n  listen: %s\n", p.name, p.sock)
	if p.cfg.Hash != "" {
		fmt.Fprintf(&b, "  hash: %s\n", p.cfg.Hash)
	}
	if p.cfg.Distribution != "" {
		fmt.Fprintf(&b, "  distribution: %s\n", p.cfg.Distribution)
	}
	if p.cfg.HashTag != "" {
		fmt.Fprintf(&b, "  hash_tag: %q\n", p.cfg.HashTag)
	}
	b.WriteString("  timeout: 5000\n")
	for _, e := range p.extra {
		fmt.Fprintf(&b, "  %s\n", e)
	}
	b.WriteString("  servers:\n")
	for _, s := range p.cfg.Servers {
		fmt.Fprintf(&b, "   - %s:%d", s.Addr, s.Weight)
		if s.Name != "" {
			b.WriteString(" " + s.Name)
		}
		b.WriteString("\n")
	}
	return b.String()
}

const prefixAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// sideKeys makes n distinct keys for pool number idx: ASCII words, random
// printable bytes, bytes >= 0x80 (where C's signed char matters), every
// length up to memcached's 250, and with a hash tag in use, keys with
// well-formed, empty, reversed, unterminated and repeated tags.
func sideKeys(idx, n int, tag string) [][]byte {
	rng := rand.New(rand.NewPCG(uint64(idx), 0x5eed))
	prefix := []byte{prefixAlphabet[idx/len(prefixAlphabet)%len(prefixAlphabet)], prefixAlphabet[idx%len(prefixAlphabet)]}
	seen := make(map[string]bool, n)
	keys := make([][]byte, 0, n)
	randBytes := func(k int, high bool) []byte {
		b := make([]byte, k)
		for i := range b {
			if high && rng.IntN(3) == 0 {
				b[i] = byte(0x80 + rng.IntN(0x80))
			} else {
				b[i] = byte(0x21 + rng.IntN(0x7f-0x21))
			}
		}
		return b
	}
	for len(keys) < n {
		k := append([]byte{}, prefix...)
		switch v := rng.IntN(10); {
		case tag != "" && v < 5:
			inner := randBytes(1+rng.IntN(20), rng.IntN(2) == 0)
			inner = bytes.ReplaceAll(inner, []byte{tag[1]}, []byte("x"))
			inner = bytes.ReplaceAll(inner, []byte{tag[0]}, []byte("y"))
			pre := "user:" + strconv.Itoa(rng.IntN(100000))
			switch rng.IntN(8) {
			case 0: // empty tag: the whole key is hashed
				k = append(k, pre+string(tag)+":x"...)
			case 1: // closing byte before the opening one
				k = append(k, pre+string(tag[1])+string(inner)+string(tag[0])...)
			case 2: // unterminated
				k = append(k, pre+string(tag[0])+string(inner)...)
			case 3: // two tags: the first counts
				k = append(k, pre+string(tag[0])+string(inner)+string(tag[1])+string(tag[0])+"other"+string(tag[1])...)
			case 4: // a few shared tags, so keys group
				k = append(k, pre+string(tag[0])+"group"+strconv.Itoa(rng.IntN(5))+string(tag[1])...)
			default:
				k = append(k, pre+string(tag[0])+string(inner)+string(tag[1])+":field"...)
			}
		case v < 3:
			k = append(k, "user:"+strconv.Itoa(rng.IntN(1_000_000))+":profile"...)
		case v < 6:
			k = append(k, randBytes(1+rng.IntN(40), false)...)
		case v < 9:
			k = append(k, randBytes(1+rng.IntN(40), true)...)
		default:
			k = append(k, randBytes(1+rng.IntN(250-len(prefix)), rng.IntN(2) == 0)...)
		}
		if len(k) > 250 || seen[string(k)] {
			continue
		}
		seen[string(k)] = true
		keys = append(keys, k)
	}
	return keys
}

func TestSideBySideNutcracker(t *testing.T) {
	mcBin := lookBin(t, "memcached")
	ncBin := lookBin(t, "nutcracker")
	keepFileLimit(t)
	dir := t.TempDir()

	// The memcached servers: four on free ports, three on the default port,
	// one on a unix socket; and a port with nothing on it.
	var tcp [4]mcServer
	for i := range tcp {
		tcp[i] = startMemcachedTCP(t, mcBin, "127.0.0.1", 0)
	}
	var dflt []mcServer
	for _, h := range strings.Fields(defaultPortHosts) {
		dflt = append(dflt, startMemcachedTCP(t, mcBin, h, DefaultPort))
	}
	sock := startMemcachedUnix(t, mcBin, filepath.Join(dir, "mc.sock"))
	port := func(s mcServer) string { _, p, _ := net.SplitHostPort(s.addr); return p }
	deadPort := strconv.Itoa(proctest.FreePort(t, "127.0.0.1"))

	type variant struct {
		name    string
		servers []Server
		conns   []mcServer
		hashTag string
		eject   int
		extra   []string
	}
	backends := []mcServer{tcp[0], tcp[1], tcp[2], tcp[3], dflt[0], dflt[1], dflt[2], sock}
	many := func(name string, n int) variant {
		v := variant{name: name, eject: -1}
		for i := range n {
			b := backends[i%len(backends)]
			v.servers = append(v.servers, Server{Addr: b.addr, Weight: 1, Name: fmt.Sprintf("s%02d", i)})
			v.conns = append(v.conns, b)
		}
		return v
	}
	variants := []variant{
		{name: "plain", eject: -1,
			servers: []Server{
				{Addr: tcp[0].addr, Weight: 1},
				{Addr: tcp[1].addr, Weight: 1},
				{Addr: tcp[2].addr, Weight: 1},
			},
			conns: []mcServer{tcp[0], tcp[1], tcp[2]}},
		// Config order, bytewise order and twemproxy's (length, then bytes)
		// order all differ; "mc\xc3\xa9" sorts after "mc-z" only unsigned.
		{name: "named", eject: -1,
			servers: []Server{
				{Addr: tcp[0].addr, Weight: 1, Name: "mc-server-2"},
				{Addr: tcp[1].addr, Weight: 1, Name: "mc1"},
				{Addr: tcp[2].addr, Weight: 1, Name: "mc\xc3\xa9"},
				{Addr: tcp[3].addr, Weight: 1, Name: "mc-z"},
				// 270 bytes: "name-10" and up overflow twemproxy's 273-byte
				// buffer and are cut to 272 bytes, "name-1" to "name-3".
				{Addr: sock.addr, Weight: 1, Name: strings.Repeat("n", 270)},
			},
			conns: []mcServer{tcp[0], tcp[1], tcp[2], tcp[3], sock}},
		// Weights whose ketama point counts differ between float and double.
		{name: "weighted", eject: -1,
			servers: []Server{
				{Addr: tcp[0].addr, Weight: 8},
				{Addr: tcp[1].addr, Weight: 1},
				{Addr: sock.addr, Weight: 10},
				{Addr: tcp[2].addr, Weight: 4},
				{Addr: tcp[3].addr, Weight: 2},
			},
			conns: []mcServer{tcp[0], tcp[1], sock, tcp[2], tcp[3]}},
		// Port 11211 is left out of the ring name; port text is kept as
		// written ("0PORT", "011211").
		{name: "defaultport", eject: -1,
			servers: []Server{
				{Addr: "127.0.0.1:0" + port(tcp[0]), Weight: 1},
				{Addr: dflt[0].addr, Weight: 1},
				{Addr: strings.TrimSuffix(dflt[1].addr, "11211") + "011211", Weight: 1},
				{Addr: dflt[2].addr, Weight: 2},
			},
			conns: []mcServer{tcp[0], dflt[0], dflt[1], dflt[2]}},
		// 25 equal servers get 156 ketama points each in single precision
		// (160 in double); they share the eight memcached processes.
		many("25equal", 25),
		{name: "hashtag", eject: -1, hashTag: "{}",
			servers: []Server{
				{Addr: tcp[0].addr, Weight: 1},
				{Addr: tcp[1].addr, Weight: 1, Name: "b"},
				{Addr: tcp[2].addr, Weight: 2},
			},
			conns: []mcServer{tcp[0], tcp[1], tcp[2]}},
		// A dead server ejected on its first failure: nutcracker rebuilds
		// the distribution from the live ones (weights change the live
		// servers' point counts too).
		{name: "eject", eject: 2,
			extra: []string{"auto_eject_hosts: true", "server_failure_limit: 1", "server_retry_timeout: 600000"},
			servers: []Server{
				{Addr: tcp[0].addr, Weight: 1},
				{Addr: tcp[1].addr, Weight: 2, Name: "beta"},
				{Addr: "127.0.0.1:" + deadPort, Weight: 4},
				{Addr: tcp[2].addr, Weight: 8},
				{Addr: sock.addr, Weight: 10},
			},
			conns: []mcServer{tcp[0], tcp[1], {}, tcp[2], sock}},
	}

	var pools []*sidePool
	add := func(p *sidePool) {
		idx := len(pools)
		p.name = fmt.Sprintf("p%03d", idx)
		p.sock = filepath.Join(dir, p.name+".sock")
		p.keys = sideKeys(idx, sideKeysPerPool, p.cfg.HashTag)
		pools = append(pools, p)
	}
	for _, h := range Hashes() {
		for _, d := range []Distribution{Ketama, Modula} {
			for _, v := range variants {
				add(&sidePool{
					cfg:   Config{Hash: h, Distribution: d, HashTag: v.hashTag, Servers: v.servers},
					eject: v.eject, extra: v.extra, conns: v.conns, variant: v.name,
				})
			}
		}
	}
	// Two servers share a continuum point (md5("tie253-2") and
	// md5("tie397-31") agree in one 32-bit word): twemproxy's sort keeps
	// the server earlier in its (sorted) order first, so that one wins.
	tie := &sidePool{eject: -1, variant: "tie",
		cfg: Config{Hash: HashMD5, Servers: []Server{
			{Addr: tcp[0].addr, Weight: 1, Name: "tie397"},
			{Addr: tcp[1].addr, Weight: 1, Name: "tie253"},
		}},
		conns: []mcServer{tcp[0], tcp[1]}}
	add(tie)
	tie.keys = append(tie.keys, tieKeys(t, tie.cfg, 667653269, tie.keys[0][:2], 50)...)
	tie.tieKeys = 50
	for _, v := range variants {
		if v.name == "plain" || v.name == "eject" {
			add(&sidePool{cfg: Config{Distribution: Random, Servers: v.servers}, eject: v.eject, extra: v.extra, conns: v.conns, variant: v.name})
		}
	}

	// One nutcracker for all pools.
	var conf strings.Builder
	for _, p := range pools {
		conf.WriteString(p.yaml())
	}
	confPath := filepath.Join(dir, "nutcracker.yml")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(ncBin, "-t", "-c", confPath).CombinedOutput(); err != nil {
		t.Fatalf("nutcracker -t: %v\n%s", err, out)
	}
	logPath := filepath.Join(dir, "nutcracker.log")
	nc := proctest.Start(t, ncBin, "-c", confPath, "-o", logPath, "-v", "4",
		"-a", "127.0.0.1", "-s", strconv.Itoa(proctest.FreePort(t, "127.0.0.1")),
		"-p", filepath.Join(dir, "nutcracker.pid"))
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("nutcracker log (tail):\n%s", tail(b, 4000))
			}
		}
	})
	for _, p := range pools {
		if !nc.WaitUntil(func() bool { return proctest.Dials("unix", p.sock) }) {
			t.Fatalf("nutcracker pool %s: no listener on %s", p.name, p.sock)
		}
	}

	t.Run("pools", func(t *testing.T) {
		for _, p := range pools {
			h := string(p.cfg.Hash)
			if p.cfg.Distribution == Random {
				h = "nohash"
			}
			label := fmt.Sprintf("%s/%s/%s/%s", p.name, h, p.cfg.Distribution, p.variant)
			t.Run(label, func(t *testing.T) {
				t.Parallel()
				checkPool(t, p)
			})
		}
	})
}

// tieKeys finds n keys (with the given prefix) that land on the continuum
// point value, which two servers share.
func tieKeys(t *testing.T, cfg Config, value uint32, prefix []byte, n int) [][]byte {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	at := -1
	for i, v := range r.points {
		if v == value {
			at = i
			break
		}
	}
	if at <= 0 || at+1 >= len(r.points) || r.points[at+1] != value || r.owner[at] == r.owner[at+1] {
		t.Fatalf("no shared continuum point %d", value)
	}
	lo := r.points[at-1]
	var keys [][]byte
	for i := 0; len(keys) < n; i++ {
		k := fmt.Appendf(append([]byte{}, prefix...), "tie:%d", i)
		if h := r.KeyHash(k); h > lo && h <= value {
			keys = append(keys, k)
		}
	}
	return keys
}

// checkPool stores the pool's keys through nutcracker, finds each on the
// memcached servers, and compares with Ring.Pick.
func checkPool(t *testing.T, p *sidePool) {
	full, err := New(p.cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := full
	nc, err := dialMC("unix", p.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.c.Close()

	if p.eject >= 0 {
		live := make([]bool, len(p.cfg.Servers))
		for i := range live {
			live[i] = i != p.eject
		}
		if want, err = full.WithLive(live); err != nil {
			t.Fatal(err)
		}
	}
	if p.eject >= 0 && p.cfg.Distribution != Random {
		// A key the full ring puts on the dead server makes nutcracker fail
		// it and eject the server. If no key can reach the dead server
		// (crc32 with ketama hashes into 0..32767 only), nutcracker never
		// ejects it and the full ring stays in force.
		probe := findKeyFor(full, p.eject, p.keys[0][:2])
		if probe == nil {
			t.Logf("no key reaches the dead server: no ejection")
			want = full
		} else {
			replies, err := nc.set([][]byte{probe})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(replies[0], "SERVER_ERROR") {
				t.Fatalf("probe %q for the dead server: nutcracker replied %q", probe, replies[0])
			}
		}
	}

	replies, err := nc.set(p.keys)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range replies {
		if r != "STORED" {
			if p.cfg.Distribution == Random && strings.HasPrefix(r, "SERVER_ERROR") && p.eject >= 0 {
				continue // random picks the dead server until it is ejected
			}
			t.Fatalf("set %q through nutcracker: %q", p.keys[i], r)
		}
	}

	// Several servers of a pool may share a memcached (the 25-server
	// pool): compare backends.
	backendOf := map[mcServer]int{}
	var backends []mcServer
	for _, s := range p.conns {
		if _, ok := backendOf[s]; !ok && s.network != "" {
			backendOf[s] = len(backends)
			backends = append(backends, s)
		}
	}
	where := make([][]int, len(p.keys))
	for bi, s := range backends {
		c, err := dialMC(s.network, s.addr)
		if err != nil {
			t.Fatal(err)
		}
		found, err := c.present(p.keys)
		c.c.Close()
		if err != nil {
			t.Fatalf("get from %s: %v", s.addr, err)
		}
		for ki, k := range p.keys {
			if found[string(k)] {
				where[ki] = append(where[ki], bi)
			}
		}
	}
	perBackend := make([]int, len(backends))
	for ki, w := range where {
		if len(w) > 1 || (len(w) == 0 && p.cfg.Distribution != Random) {
			t.Fatalf("key %q found on backends %v (want exactly one)", p.keys[ki], w)
		}
		for _, bi := range w {
			perBackend[bi]++
		}
	}

	if p.cfg.Distribution == Random {
		for si, s := range p.conns {
			if si == p.eject {
				continue
			}
			if perBackend[backendOf[s]] == 0 {
				t.Errorf("random: nutcracker put no key on live server %d", si)
			}
			if !want.Live(si) {
				t.Errorf("random: server %d not live in the ring", si)
			}
		}
		for range 1000 {
			if i := want.Pick([]byte("k")); !want.Live(i) {
				t.Fatalf("random: Pick gave server %d, not live", i)
			}
		}
		return
	}

	bad := 0
	for ki, k := range p.keys {
		got := where[ki][0]
		pick := want.Pick(k)
		if backendOf[p.conns[pick]] != got {
			bad++
			if bad <= 5 {
				t.Errorf("key %q (%x, hash %d): nutcracker put it on %s, Pick says server %d (%s) on %s",
					k, k, want.KeyHash(k), backends[got].addr, pick, want.RingName(pick), p.conns[pick].addr)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d keys placed differently from nutcracker", bad, len(p.keys))
	}
	if p.tieKeys > 0 {
		winner := want.Pick(p.keys[len(p.keys)-1])
		t.Logf("tied point: %d keys went to server %d (%s)", p.tieKeys, winner, want.RingName(winner))
	}
	t.Logf("%d keys agree; per backend %v", len(p.keys)-bad, perBackend)
}

// findKeyFor returns a key (with prefix) that r places on server si, or nil
// if none of many candidates goes there.
func findKeyFor(r *Ring, si int, prefix []byte) []byte {
	for i := range 20000 {
		k := fmt.Appendf(append([]byte{}, prefix...), "probe:%d", i)
		if r.Pick(k) == si {
			return k
		}
	}
	return nil
}
