package checkpoint

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sample() map[string][]Entry {
	return map[string][]Entry{
		"http": {
			{Fingerprint: strings.Repeat("ab", 16), FingerprintLen: 1024, Path: "/var/log/app.log", Offset: 4096, Dev: 1, Ino: 2},
			{Fingerprint: strings.Repeat("01", 16), FingerprintLen: 7, Path: "/var/log/b.log", Offset: 7},
		},
		"file": {},
	}
}

func newStore(t *testing.T, max int) *Store {
	t.Helper()
	s, err := New(Config{Dir: t.TempDir(), MaxBytes: max})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	s := newStore(t, 0)
	got, err := s.Load()
	if err != nil || len(got) != 0 {
		t.Fatalf("missing file: Load() = %v, %v; want empty, nil", got, err)
	}
	want := sample()
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	got, err = s.Load()
	if err != nil {
		t.Fatal(err)
	}
	// Save sorts entries.
	want["http"][0], want["http"][1] = want["http"][1], want["http"][0]
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load() = %+v, want %+v", got, want)
	}
	// Only the checkpoint file is left in the directory.
	ents, _ := os.ReadDir(filepath.Dir(s.Path()))
	if len(ents) != 1 || ents[0].Name() != FileName {
		t.Errorf("state dir holds %v, want only %s", ents, FileName)
	}
}

func TestNewErrors(t *testing.T) {
	for _, cfg := range []Config{{}, {Dir: "x", MaxBytes: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v): no error", cfg)
		}
	}
}

// Corrupt files: each is rejected with ErrCorrupt, kept as .bad, and the
// next Load starts empty; Save then works again.
func TestCorrupt(t *testing.T) {
	good, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	flip := append([]byte(nil), good...)
	flip[len(flip)-5] ^= 0x20
	cases := map[string][]byte{
		"empty":       {},
		"torn":        good[:len(good)/2],
		"torn header": good[:10],
		"bit flip":    flip,
		"no header":   good[strings.IndexByte(string(good), '\n')+1:],
		"garbage":     []byte("\x00\xff\xfe garbage\n\n"),
		"extra":       append(append([]byte(nil), good...), "more"...),
		"big":         []byte(magic + strings.Repeat("x", 5000)),
		"bad entry":   mustRaw(`{"sinks":{"s":[{"fp":"zz","fp_len":1,"path":"p","offset":1}]}}`),
		"neg offset":  mustRaw(`{"sinks":{"s":[{"fp":"` + strings.Repeat("0", 32) + `","fp_len":1,"path":"p","offset":-1}]}}`),
		"unknown":     mustRaw(`{"sinks":{},"x":1}`),
		"two values":  mustRaw(`{"sinks":{}} {}`),
		"empty name":  mustRaw(`{"sinks":{"":[]}}`),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			s := newStore(t, 4096)
			if err := os.WriteFile(s.Path(), data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := s.Load()
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Load() error = %v, want ErrCorrupt", err)
			}
			if bad, err := os.ReadFile(s.Path() + ".bad"); err != nil || string(bad) != string(data) {
				t.Errorf(".bad copy: %v (same bytes: %v)", err, string(bad) == string(data))
			}
			if got, err := s.Load(); err != nil || len(got) != 0 {
				t.Errorf("second Load() = %v, %v; want empty", got, err)
			}
			if err := s.Save(sample()); err != nil {
				t.Errorf("Save after corruption: %v", err)
			}
		})
	}
}

// mustRaw frames js with a valid header, so only the body is wrong.
func mustRaw(js string) []byte {
	js += "\n"
	return fmt.Appendf(nil, "%s%d %08x\n%s", magic, len(js), crc32.Checksum([]byte(js), castagnoli), js)
}

// A torn write of the temp file never replaces the good file: the old
// state stays loadable and the temp file is cleaned up by the next Load.
func TestTornTempFile(t *testing.T) {
	s := newStore(t, 0)
	if err := s.Save(sample()); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(filepath.Dir(s.Path()), "."+FileName+".123.tmp")
	if err := os.WriteFile(stale, []byte(magic+"99 0000"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err != nil || len(got["http"]) != 2 {
		t.Fatalf("Load() = %v, %v", got, err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file not removed: %v", err)
	}
}

func TestTooLarge(t *testing.T) {
	s := newStore(t, 200)
	big := map[string][]Entry{"s": {}}
	for i := range 10 {
		big["s"] = append(big["s"], Entry{Fingerprint: fmt.Sprintf("%032x", i), FingerprintLen: 1, Path: "p", Offset: 1})
	}
	if err := s.Save(big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Save() = %v, want ErrTooLarge", err)
	}
	if _, err := os.Stat(s.Path()); !os.IsNotExist(err) {
		t.Errorf("file written despite the limit: %v", err)
	}
	if err := s.Save(map[string][]Entry{"s": {{Fingerprint: strings.Repeat("0", 32), FingerprintLen: 1, Offset: 1}, {Fingerprint: "x"}}}); err == nil {
		t.Error("Save accepted an invalid entry")
	}
}

// The state dir is the only place written: a missing dir is an error, not
// a directory created elsewhere.
func TestMissingDir(t *testing.T) {
	s, _ := New(Config{Dir: filepath.Join(t.TempDir(), "nope")})
	if err := s.Save(sample()); err == nil {
		t.Error("Save into a missing dir succeeded")
	}
	if got, err := s.Load(); err != nil || len(got) != 0 {
		t.Errorf("Load from a missing dir = %v, %v; want empty", got, err)
	}
}

func FuzzLoad(f *testing.F) {
	good, _ := Encode(sample())
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add(mustRaw(`{"sinks":{"s":[]}}`))
	f.Add([]byte(magic + "0 00000000\n"))
	f.Add([]byte{})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _ := New(Config{Dir: dir, MaxBytes: 1 << 16})
		if err := os.WriteFile(s.Path(), data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load()
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// What loads re-encodes and loads to the same state.
		again, err := Encode(got)
		if err != nil {
			t.Fatalf("Encode of a loaded state: %v", err)
		}
		back, err := Parse(again, 0)
		if err != nil || len(back) != len(got) {
			t.Fatalf("round trip: %v, %d sinks vs %d", err, len(back), len(got))
		}
	})
}
