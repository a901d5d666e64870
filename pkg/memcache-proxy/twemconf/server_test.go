package twemconf

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

type serverWant struct {
	host    string
	port    int
	path    string
	weight  int
	name    string
	network string
	addr    string
	ring    string
}

func (w serverWant) check(t *testing.T, s Server) {
	t.Helper()
	got := serverWant{s.Host, s.Port, s.Path, s.Weight, s.Name, s.Network(), s.Addr(), s.RingName()}
	if got != w {
		t.Errorf("got  %+v\nwant %+v", got, w)
	}
}

// Ring names marked "nutcracker" were read from nutcracker 0.5.0's stats
// output for the same server lines.
var serverTests = []struct {
	in   string
	want serverWant
	err  string
}{
	{in: "127.0.0.1:11211:1", want: serverWant{"127.0.0.1", 11211, "", 1, "", "tcp", "127.0.0.1:11211", "127.0.0.1"}},           // nutcracker
	{in: "127.0.0.1:11212:1", want: serverWant{"127.0.0.1", 11212, "", 1, "", "tcp", "127.0.0.1:11212", "127.0.0.1:11212"}},     // nutcracker
	{in: "127.0.0.1:011212:1", want: serverWant{"127.0.0.1", 11212, "", 1, "", "tcp", "127.0.0.1:11212", "127.0.0.1:011212"}},   // nutcracker
	{in: "localhost:0011211:1", want: serverWant{"localhost", 11211, "", 1, "", "tcp", "localhost:11211", "localhost"}},         // nutcracker
	{in: "127.0.0.1:11213:1 named", want: serverWant{"127.0.0.1", 11213, "", 1, "named", "tcp", "127.0.0.1:11213", "named"}},    // nutcracker
	{in: "::1:11214:1", want: serverWant{"::1", 11214, "", 1, "", "tcp", "[::1]:11214", "::1:11214"}},                           // nutcracker
	{in: "/tmp/nct/x.sock:1", want: serverWant{"", 0, "/tmp/nct/x.sock", 1, "", "unix", "/tmp/nct/x.sock", "/tmp/nct/x.sock:"}}, // nutcracker
	{in: "/run/mc.sock:3 mc", want: serverWant{"", 0, "/run/mc.sock", 3, "mc", "unix", "/run/mc.sock", "mc"}},
	{in: "::1:11211:1", want: serverWant{"::1", 11211, "", 1, "", "tcp", "[::1]:11211", "::1"}},
	{in: "fe80::1%eth0:11212:1", want: serverWant{"fe80::1%eth0", 11212, "", 1, "", "tcp", "[fe80::1%eth0]:11212", "fe80::1%eth0:11212"}},
	{in: "mc-0.mc.default.svc.cluster.local.:11211:7 mc-0", want: serverWant{"mc-0.mc.default.svc.cluster.local.", 11211, "", 7, "mc-0", "tcp", "mc-0.mc.default.svc.cluster.local.:11211", "mc-0"}},
	{in: "10.0.0.1:11211:2147483647", want: serverWant{"10.0.0.1", 11211, "", 2147483647, "", "tcp", "10.0.0.1:11211", "10.0.0.1"}},
	{in: "10.0.0.1:11211:1 a:b", want: serverWant{"10.0.0.1", 11211, "", 1, "a:b", "tcp", "10.0.0.1:11211", "a:b"}},
	{in: "10.0.0.1:11211:01", want: serverWant{"10.0.0.1", 11211, "", 1, "", "tcp", "10.0.0.1:11211", "10.0.0.1"}},

	{in: "", err: "empty server line"},
	{in: "127.0.0.1", err: `want "HOST:PORT:WEIGHT [NAME]"`},
	{in: "127.0.0.1:11211", err: `want "HOST:PORT:WEIGHT [NAME]"`},
	{in: "127.0.0.1:11211:1 ", err: "empty NAME"},
	{in: "127.0.0.1:11211:1 a\x01", err: "control character"},
	{in: "127.0.0.1:11211:0", err: "weight must be at least 1"},
	{in: "127.0.0.1:11211:x", err: `weight "x": want a whole number`},
	{in: "127.0.0.1:11211:", err: `weight "": want a whole number`},
	{in: "127.0.0.1:11211:2147483648", err: "out of range"},
	{in: "127.0.0.1::1", err: `port "": want a whole number`},
	{in: "127.0.0.1:0:1", err: `port "0": want 1-65535`},
	{in: "127.0.0.1:65536:1", err: `port "65536": want 1-65535`},
	{in: ":11211:1", err: "empty host"},
	{in: "[::1]:11211:1", err: "without brackets"},
	{in: "a/b:11211:1", err: `host "a/b"`},
	{in: "1.2.3.4:5:11211:1", err: `host "1.2.3.4:5"`},
	{in: "/tmp/a:b:1", err: "cannot hold ':'"},
	{in: "/tmp/mc.sock", err: "no weight"},
	{in: "/tmp/mc.sock:0", err: "weight must be at least 1"},
	{in: "/tmp/mc\x00.sock:1", err: "control character"},
	{in: "/" + strings.Repeat("a", 107) + ":1", err: "108 bytes; at most 107"},
}

func TestParseServer(t *testing.T) {
	for _, tt := range serverTests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := ParseServer(tt.in)
			if tt.err != "" {
				checkErr(t, err, tt.err, "servers")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.check(t, s)
			if s.Spec != tt.in || s.String() != tt.in {
				t.Errorf("Spec %q, String %q, want %q", s.Spec, s.String(), tt.in)
			}
			if err := checkServer(s); err != nil {
				t.Errorf("checkServer: %v", err)
			}
		})
	}
}

var serverFlagTests = []struct {
	in   string
	want serverWant
	err  string
}{
	{in: "127.0.0.1:11211", want: serverWant{"127.0.0.1", 11211, "", 1, "", "tcp", "127.0.0.1:11211", "127.0.0.1"}},
	{in: "127.0.0.1:11212", want: serverWant{"127.0.0.1", 11212, "", 1, "", "tcp", "127.0.0.1:11212", "127.0.0.1:11212"}},
	{in: "127.0.0.1:11212:3", want: serverWant{"127.0.0.1", 11212, "", 3, "", "tcp", "127.0.0.1:11212", "127.0.0.1:11212"}},
	{in: "127.0.0.1:11212 one", want: serverWant{"127.0.0.1", 11212, "", 1, "one", "tcp", "127.0.0.1:11212", "one"}},
	{in: "mc-0.mc:11211:2 mc-0", want: serverWant{"mc-0.mc", 11211, "", 2, "mc-0", "tcp", "mc-0.mc:11211", "mc-0"}},
	{in: "[::1]:11212", want: serverWant{"::1", 11212, "", 1, "", "tcp", "[::1]:11212", "::1:11212"}},
	{in: "[::1]:11212:1", want: serverWant{"::1", 11212, "", 1, "", "tcp", "[::1]:11212", "::1:11212"}},
	{in: "[::1]:11211:2 x", want: serverWant{"::1", 11211, "", 2, "x", "tcp", "[::1]:11211", "x"}},
	{in: "/run/mc.sock", want: serverWant{"", 0, "/run/mc.sock", 1, "", "unix", "/run/mc.sock", "/run/mc.sock:"}},
	{in: "/run/mc.sock:4 mc", want: serverWant{"", 0, "/run/mc.sock", 4, "mc", "unix", "/run/mc.sock", "mc"}},

	{in: "", err: "empty server line"},
	{in: "127.0.0.1", err: `want "HOST:PORT[:WEIGHT][ NAME]"`},
	{in: "::1:11211", err: "write an IPv6 address in brackets"},
	{in: "::1:11211:1", err: "write an IPv6 address in brackets"},
	{in: "[::1]", err: "want [IPV6]:PORT[:WEIGHT]"},
	{in: "[::1]11211", err: "want [IPV6]:PORT[:WEIGHT]"},
	{in: "[::1:11211", err: "want [IPV6]:PORT[:WEIGHT]"},
	{in: "[127.0.0.1]:11211", err: "is not an IPv6 address"},
	{in: "[mc]:11211", err: "is not an IPv6 address"},
	{in: "[::1]:11211:1:1", err: `weight "1:1"`},
	{in: "[::1]:0", err: `port "0"`},
	{in: "127.0.0.1:11211:0", err: "weight must be at least 1"},
	{in: ":11211", err: "empty host"},
	{in: "/run/mc.sock:", err: `weight "": want a whole number`},
	{in: "/run/a:b:1", err: "cannot hold ':'"},
}

func TestParseServerFlag(t *testing.T) {
	for _, tt := range serverFlagTests {
		t.Run(tt.in, func(t *testing.T) {
			s, err := ParseServerFlag(tt.in)
			if tt.err != "" {
				checkErr(t, err, tt.err, "servers")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.check(t, s)
			if err := checkServer(s); err != nil {
				t.Errorf("checkServer: %v", err)
			}
		})
	}
}

// A server given as a flag in brackets sits on the continuum where
// twemproxy puts the same server written its way.
func TestServerFlagHashesLikeTwemproxy(t *testing.T) {
	for _, pair := range [][2]string{
		{"[::1]:11212:1", "::1:11212:1"},
		{"[::1]:11211", "::1:11211:1"},
		{"127.0.0.1:11211", "127.0.0.1:11211:1"},
		{"/run/mc.sock", "/run/mc.sock:1"},
		{"[fe80::1%eth0]:11212:2 n", "fe80::1%eth0:11212:2 n"},
	} {
		f, err := ParseServerFlag(pair[0])
		if err != nil {
			t.Fatal(err)
		}
		c, err := ParseServer(pair[1])
		if err != nil {
			t.Fatal(err)
		}
		if f.RingName() != c.RingName() || f.Addr() != c.Addr() || f.Weight != c.Weight {
			t.Errorf("%q: ring %q addr %s weight %d; %q: ring %q addr %s weight %d",
				pair[0], f.RingName(), f.Addr(), f.Weight, pair[1], c.RingName(), c.Addr(), c.Weight)
		}
	}
}

// A Server built by hand, not parsed, names itself from Host and Port.
func TestRingNameOfLiteral(t *testing.T) {
	for _, tt := range []struct {
		s    Server
		want string
	}{
		{Server{Host: "10.0.0.1", Port: 11211, Weight: 1}, "10.0.0.1"},
		{Server{Host: "10.0.0.1", Port: 11212, Weight: 1}, "10.0.0.1:11212"},
		{Server{Host: "::1", Port: 11212, Weight: 1}, "::1:11212"},
		{Server{Path: "/run/mc.sock", Weight: 1}, "/run/mc.sock:"},
		{Server{Host: "10.0.0.1", Port: 11212, Weight: 1, Name: "n"}, "n"},
	} {
		if got := tt.s.RingName(); got != tt.want {
			t.Errorf("%+v: RingName %q, want %q", tt.s, got, tt.want)
		}
	}
	s := Server{Host: "::1", Port: 11212, Weight: 2, Name: "n"}
	if got := s.String(); got != "[::1]:11212:2 n" {
		t.Errorf("String %q", got)
	}
}

var listenTests = []struct {
	in   string
	want Listen
	err  string
}{
	{in: "127.0.0.1:22121", want: Listen{Host: "127.0.0.1", Port: 22121}},
	{in: "0.0.0.0:11211", want: Listen{Host: "0.0.0.0", Port: 11211}},
	{in: "localhost:022121", want: Listen{Host: "localhost", Port: 22121}},
	{in: "::1:22121", want: Listen{Host: "::1", Port: 22121}},
	{in: "[::1]:22121", want: Listen{Host: "::1", Port: 22121}},
	{in: "/tmp/gamma", want: Listen{Path: "/tmp/gamma"}},
	{in: "/tmp/gamma 0666", want: Listen{Path: "/tmp/gamma", Perm: 0o666}},
	{in: "/tmp/gamma 600", want: Listen{Path: "/tmp/gamma", Perm: 0o600}},
	{in: "/tmp/gamma 0", want: Listen{Path: "/tmp/gamma"}},
	{in: "/tmp/a b 0777", want: Listen{Path: "/tmp/a b", Perm: 0o777}},

	{in: "", err: "empty"},
	{in: "127.0.0.1", err: `want "HOST:PORT" or "/PATH [PERM]"`},
	{in: "tmp/gamma", err: `want "HOST:PORT"`},
	{in: ":22121", err: "empty host"},
	{in: "127.0.0.1:", err: `port "": want a whole number`},
	{in: "127.0.0.1:0", err: `port "0": want 1-65535`},
	{in: "127.0.0.1:65536", err: "want 1-65535"},
	{in: "[127.0.0.1]:22121", err: `host "[127.0.0.1]"`},
	{in: "[mc]:22121", err: `host "[mc]"`},
	{in: "a b:22121", err: `host "a b"`},
	{in: "/tmp/gamma ", err: `permissions "": want octal`},
	{in: "/tmp/gamma +666", err: `permissions "+666"`},
	{in: "/tmp/gamma 0999", err: `permissions "0999"`},
	{in: "/tmp/gamma 1000", err: "at most 0777"},
	{in: "/tmp/a b", err: `permissions "b"`},
	{in: "/tmp/\x7f 0666", err: "control character"},
}

func TestParseListen(t *testing.T) {
	for _, tt := range listenTests {
		t.Run(tt.in, func(t *testing.T) {
			l, err := ParseListen(tt.in)
			if tt.err != "" {
				checkErr(t, err, tt.err, "listen")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Spec = tt.in
			if l != tt.want {
				t.Errorf("got %+v, want %+v", l, tt.want)
			}
			if l.String() != tt.in {
				t.Errorf("String %q", l.String())
			}
			if err := checkListen(l); err != nil {
				t.Errorf("checkListen: %v", err)
			}
		})
	}
	for _, tt := range []struct {
		l                   Listen
		network, addr, text string
	}{
		{Listen{Host: "::1", Port: 11211}, "tcp", "[::1]:11211", "[::1]:11211"},
		{Listen{Host: "127.0.0.1", Port: 11211}, "tcp", "127.0.0.1:11211", "127.0.0.1:11211"},
		{Listen{Path: "/run/p.sock", Perm: 0o660}, "unix", "/run/p.sock", "/run/p.sock 0660"},
		{Listen{Path: "/run/p.sock"}, "unix", "/run/p.sock", "/run/p.sock"},
	} {
		if tt.l.Network() != tt.network || tt.l.Addr() != tt.addr || tt.l.String() != tt.text {
			t.Errorf("%+v: %s %s %q", tt.l, tt.l.Network(), tt.l.Addr(), tt.l.String())
		}
	}
}

func checkErr(t *testing.T, err error, want, key string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q, want it to contain %q", err, want)
	}
	e, ok := errors.AsType[*Error](err)
	if !ok || e.Key != key || e.File != "" || e.Line != 0 {
		t.Errorf("error %#v, want *Error with Key %q and no position", err, key)
	}
}

// FuzzParseServer: both forms of a server line parse to a server that
// checks out and parses back to itself, or to an error; never a panic.
func FuzzParseServer(f *testing.F) {
	for _, tt := range serverTests {
		f.Add(tt.in)
	}
	for _, tt := range serverFlagTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, parse := range []func(string) (Server, error){ParseServer, ParseServerFlag} {
			s, err := parse(line)
			if err != nil {
				if _, ok := errors.AsType[*Error](err); !ok {
					t.Fatalf("%q: error %T is not *Error", line, err)
				}
				continue
			}
			if err := checkServer(s); err != nil {
				t.Fatalf("%q parsed to %+v, which does not check: %v", line, s, err)
			}
			if s.Addr() == "" || s.RingName() == "" || s.Weight < 1 {
				t.Fatalf("%q: addr %q ring %q weight %d", line, s.Addr(), s.RingName(), s.Weight)
			}
			again, err := parse(s.Spec)
			if err != nil || !reflect.DeepEqual(again, s) {
				t.Fatalf("%q does not parse back: %+v, %v", line, again, err)
			}
		}
		if l, err := ParseListen(line); err == nil {
			if err := checkListen(l); err != nil {
				t.Fatalf("listen %q parsed to %+v, which does not check: %v", line, l, err)
			}
		}
	})
}
