package hashkit

import (
	"fmt"
	"testing"
)

// FuzzPick builds rings from arbitrary pools (hash, distribution, hash
// tag, names, weights, live subset) and checks that Pick never panics,
// always names a live server, and is deterministic except for random.
func FuzzPick(f *testing.F) {
	for i := range Hashes() {
		f.Add([]byte("apple"), uint8(i), uint8(i%3), uint8(3), []byte{1, 2, 3}, "", uint64(0b101), uint8(1))
	}
	for _, v := range pinnedVectors {
		f.Add([]byte(v.key), uint8(6), uint8(0), uint8(5), []byte{8, 1, 10, 4, 2}, "{}", uint64(0b11011), uint8(2))
	}
	f.Add([]byte("user:{42}:name"), uint8(1), uint8(1), uint8(25), []byte{}, "{}", ^uint64(0), uint8(0))
	f.Add([]byte(""), uint8(0), uint8(0), uint8(1), []byte{0}, "$$", uint64(1), uint8(3))
	f.Fuzz(func(t *testing.T, key []byte, hashSel, distSel, n uint8, weights []byte, tag string, liveMask uint64, naming uint8) {
		if n == 0 || n > 64 {
			return
		}
		hashes := Hashes()
		dists := []Distribution{Ketama, Modula, Random, ""}
		cfg := Config{
			Hash:         hashes[int(hashSel)%len(hashes)],
			Distribution: dists[int(distSel)%len(dists)],
			HashTag:      tag,
		}
		if hashSel == 255 {
			cfg.Hash = ""
		}
		for i := range int(n) {
			s := Server{Addr: fmt.Sprintf("10.0.%d.%d:%d", i/256, i%256, 11210+i%3)}
			if i < len(weights) {
				s.Weight = int(weights[i]) * (1 + int(naming)*97) // 0 means 1
			}
			switch naming % 4 {
			case 1:
				s.Name = fmt.Sprintf("n%d", i)
			case 2:
				s.Addr = fmt.Sprintf("/run/mc%d.sock", i)
			case 3:
				if i%2 == 0 {
					s.Name = string(key) + fmt.Sprint(i) // arbitrary bytes, any length
				}
			}
			cfg.Servers = append(cfg.Servers, s)
		}
		r, err := New(cfg)
		if err != nil {
			if len(tag) == 0 || len(tag) == 2 {
				// Only clashing names (from arbitrary bytes) may fail.
				if naming%4 != 3 {
					t.Fatalf("New: %v", err)
				}
			}
			return
		}
		live := make([]bool, n)
		for i := range live {
			live[i] = liveMask&(1<<(i%64)) != 0
		}
		lr, err := r.WithLive(live)
		if err != nil {
			if liveMask&(1<<n-1) != 0 && n < 64 {
				t.Fatalf("WithLive: %v", err)
			}
			lr = r
			for i := range live {
				live[i] = true
			}
		}
		got := lr.Pick(key)
		if got < 0 || got >= int(n) || !live[got] {
			t.Fatalf("Pick = %d: not a live server of %d (live %v)", got, n, live)
		}
		if lr.Distribution() != Random && lr.Pick(key) != got {
			t.Fatal("Pick is not deterministic")
		}
		_ = lr.KeyHash(key)
	})
}
