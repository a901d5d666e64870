package twemconf

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestNutcrackerAgrees runs Debian's nutcracker 0.5.0 in config-test mode
// (nutcracker -t -c FILE) on every case of the parse table and on the
// example files: podkit accepts what nutcracker accepts and rejects what it
// rejects, except the cases marked ncAccepts or ncRejects, which README.md
// lists as deliberate differences. nutcracker must be installed
// (scripts/deps.sh installs it); without it this test fails.
func TestNutcrackerAgrees(t *testing.T) {
	bin := lookNutcracker(t)
	dir := t.TempDir()
	nutcrackerOK := func(name string, conf []byte) bool {
		t.Helper()
		file := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(name)+".yml")
		if err := os.WriteFile(file, conf, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(t.Context(), bin, "-t", "-c", file, "-o", filepath.Join(dir, "nutcracker.log"))
		out, err := cmd.CombinedOutput()
		switch {
		case err == nil && bytes.Contains(out, []byte("syntax is ok")):
			return true
		case cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 1 && bytes.Contains(out, []byte("syntax is invalid")):
			return false
		}
		t.Fatalf("%s: nutcracker -t: %v: %s", name, err, out)
		return false
	}

	type fixture struct {
		name string
		conf []byte
		nc   ncVerdict
	}
	var fixtures []fixture
	for _, tt := range parseTests {
		fixtures = append(fixtures, fixture{tt.name, []byte(tt.in), tt.nc})
	}
	for _, h := range Hashes() {
		fixtures = append(fixtures, fixture{"hash " + h, []byte(withKey("hash: " + h)), ncAgrees})
	}
	for _, d := range Distributions() {
		fixtures = append(fixtures, fixture{"distribution " + d, []byte(withKey("distribution: " + d)), ncAgrees})
	}
	for name, nc := range map[string]ncVerdict{"twemproxy-example.yml": ncAccepts, "twemproxy-example-memcached.yml": ncAgrees} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		fixtures = append(fixtures, fixture{name, b, nc})
	}

	for _, f := range fixtures {
		_, err := Parse("t.yml", f.conf)
		podkit := err == nil
		nc := nutcrackerOK(f.name, f.conf)
		want := podkit
		switch f.nc {
		case ncAccepts:
			if podkit {
				t.Errorf("%s: marked ncAccepts but podkit accepts it", f.name)
			}
			want = true
		case ncRejects:
			if !podkit {
				t.Errorf("%s: marked ncRejects but podkit rejects it: %v", f.name, err)
			}
			want = false
		}
		if nc != want {
			t.Errorf("%s: nutcracker accepts: %v, want %v (podkit: %v)", f.name, nc, want, errOrOK(err))
		}
	}
}

// lookNutcracker finds Debian's nutcracker, or fails the test: these tests
// are the evidence that podkit reads files as nutcracker does.
func lookNutcracker(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("nutcracker")
	if err != nil {
		t.Fatalf("nutcracker not found (%v): run scripts/deps.sh, or apt-get install nutcracker", err)
	}
	return bin
}

// TestRingNamesMatchNutcracker runs nutcracker on a pool of servers written
// in every form and reads its stats, which key each server by the name its
// ketama points are built from: RingName must give the same names.
func TestRingNamesMatchNutcracker(t *testing.T) {
	bin := lookNutcracker(t)
	dir := t.TempDir()
	lines := []string{
		"127.0.0.1:11211:1",       // port 11211: the host alone
		"127.0.0.1:011212:1",      // the port as written
		"localhost:0011211:2",     // 11211 however written
		"::1:11214:1",             // IPv6, bare
		"fe80::1%lo:11216:1",      // with a zone
		dir + "/mc.sock:1",        // unix socket: the path and ":"
		"127.0.0.1:11213:1 named", // a name wins
		"10.0.0.1:11215:1 a:b",    // names may hold ':'
		"10.0.0.2:11211:3 " + dir, // or '/'
	}
	listen, stats := freePort(t), freePort(t)
	conf := "ring:\n  listen: 127.0.0.1:" + listen + "\n  servers:\n"
	var want []string
	for _, l := range lines {
		conf += "   - \"" + l + "\"\n"
		s, err := ParseServer(l)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, s.RingName())
	}
	if _, err := Parse("ring.yml", []byte(conf)); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "ring.yml")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", file, "-o", filepath.Join(dir, "nutcracker.log"), "-s", stats, "-a", "127.0.0.1", "-i", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})

	// The stats port answers each connection with one JSON document.
	var body []byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+stats, time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			body, err = io.ReadAll(c)
			c.Close()
			if err == nil && len(body) > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "nutcracker.log"))
			t.Fatalf("nutcracker stats on :%s: %v\n%s", stats, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("stats: %v: %s", err, body)
	}
	pool, ok := doc["ring"].(map[string]any)
	if !ok {
		t.Fatalf("stats have no pool \"ring\": %s", body)
	}
	var got []string
	for k, v := range pool {
		if _, ok := v.(map[string]any); ok {
			got = append(got, k)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("nutcracker's server names %q,\nRingName gives          %q", got, want)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func errOrOK(err error) string {
	if err == nil {
		return "ok"
	}
	if errors.Is(err, ErrUnsupported) {
		return "unsupported: " + err.Error()
	}
	return err.Error()
}
