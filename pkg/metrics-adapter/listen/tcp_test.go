package listen

import (
	"bytes"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
)

var tcpCases = []struct {
	name    string
	writes  []string
	lines   []string // received, in order
	tooLong uint64
}{
	{"one line", []string{"a:1|c\n"}, []string{"a:1|c"}, 0},
	{"split across writes", []string{"a:1", "|c\nb:", "2|c", "\n"}, []string{"a:1|c", "b:2|c"}, 0},
	{"crlf", []string{"a:1|c\r\nb:2|c\r", "\n"}, []string{"a:1|c", "b:2|c"}, 0},
	{"empty lines", []string{"\n\r\n\na:1|c\n"}, []string{"a:1|c"}, 0},
	{"exactly max", []string{strings.Repeat("x", 16) + "\n"}, []string{strings.Repeat("x", 16)}, 0},
	{"exactly max with cr", []string{strings.Repeat("x", 16) + "\r", "\n"}, []string{strings.Repeat("x", 16)}, 0},
	{"long line in one read", []string{"a:1|c\n" + strings.Repeat("y", 17) + "\nb:2|c\n"}, []string{"a:1|c", "b:2|c"}, 1},
	{"long line across writes", []string{"a:1|c\nyyyyyyyy", "yyyyyyyyyyyy", "yyyyyyyyyyyyyyyyyyy", "yy\nb:2|c\n"}, []string{"a:1|c", "b:2|c"}, 1},
	{"long line over buffer", []string{strings.Repeat("z", 200), strings.Repeat("z", 200) + "\nb:2|c\n"}, []string{"b:2|c"}, 1},
	{"two long lines", []string{strings.Repeat("z", 30) + "\n" + strings.Repeat("z", 30) + "\nb:2|c\n"}, []string{"b:2|c"}, 2},
}

// tcpConfig: lines up to 16 bytes in a 64-byte buffer, so that the cases
// above cross the buffer's edge.
func tcpConfig(h func() Handler) Config {
	return Config{TCPAddr: "127.0.0.1:0", MaxLineLength: 16, MaxPacketSize: 64, NewHandler: h}
}

func TestTCPLines(t *testing.T) {
	for _, tc := range tcpCases {
		t.Run(tc.name, func(t *testing.T) {
			col := newCollector(100)
			l, err := Listen(tcpConfig(col.NewHandler))
			if err != nil {
				t.Fatal(err)
			}
			start(t, l)
			c, err := net.Dial("tcp", l.TCPAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.writes {
				if _, err := io.WriteString(c, w); err != nil {
					t.Fatal(err)
				}
			}
			// A marker line last: once it is in, everything before is.
			io.WriteString(c, "end\n")
			c.Close()
			var lines []string
			for !slices.Contains(lines, "end") {
				p := col.next(t)
				if !strings.HasSuffix(p, "\n") {
					t.Fatalf("batch %q does not end in a newline", p)
				}
				lines = append(lines, strings.Split(strings.TrimSuffix(p, "\n"), "\n")...)
			}
			want := append(slices.Clone(tc.lines), "end")
			if !slices.Equal(lines, want) {
				t.Errorf("lines = %q, want %q", lines, want)
			}
			if st := l.Stats().TCP; st.LinesTooLong != tc.tooLong || st.Conns != 1 {
				t.Errorf("stats = %+v, want %d too long, 1 conn", st, tc.tooLong)
			}
		})
	}
}

func TestTCPMaxConns(t *testing.T) {
	col := newCollector(10)
	cfg := tcpConfig(col.NewHandler)
	cfg.MaxConns = 1
	l, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start(t, l)
	c1, err := net.Dial("tcp", l.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	io.WriteString(c1, "a:1|c\n")
	col.next(t) // c1 is being served
	c2, err := net.Dial("tcp", l.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if n, err := c2.Read(make([]byte, 1)); err == nil {
		t.Fatalf("second connection read %d bytes, want it closed", n)
	}
	if st := l.Stats().TCP; st.ConnsLimited != 1 || st.ConnsOpen != 1 || st.Conns != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCompactLines(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\n", "a\n"},
		{"a\r\nb\n", "a\nb\n"},
		{"\n\n", ""},
		{"toolongline\nok\n", "ok\n"},
		{"a\r\r\n", "a\r\n"},
	} {
		b := []byte(tc.in)
		w, _ := compactLines(b, 4)
		if string(b[:w]) != tc.want {
			t.Errorf("compactLines(%q) = %q, want %q", tc.in, b[:w], tc.want)
		}
	}
}

// refLines is the framing serveConn implements, written plainly: complete
// lines, "\r\n" as "\n", empty and too-long lines dropped.
func refLines(data []byte, maxLine int) (lines []string, tooLong int) {
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			// A partial line at EOF is dropped; one already over the
			// limit even with a '\r' to come was counted on the way.
			if len(data) > maxLine+1 {
				tooLong++
			}
			return lines, tooLong
		}
		line := bytes.TrimSuffix(data[:i], []byte{'\r'})
		data = data[i+1:]
		switch {
		case len(line) > maxLine:
			tooLong++
		case len(line) > 0:
			lines = append(lines, string(line))
		}
	}
}

func FuzzTCPFraming(f *testing.F) {
	for _, tc := range tcpCases {
		f.Add([]byte(strings.Join(tc.writes, "")), uint8(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		if chunk == 0 {
			chunk = 1
		}
		var got []string
		l := &Listener{cfg: Config{MaxLineLength: 16, MaxPacketSize: 64}}
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			l.serveConn(server, func(p []byte) {
				got = append(got, strings.Split(strings.TrimSuffix(string(p), "\n"), "\n")...)
			})
		}()
		for d := data; len(d) > 0; {
			n := min(int(chunk), len(d))
			client.Write(d[:n])
			d = d[n:]
		}
		client.Close()
		<-done
		server.Close()
		want, tooLong := refLines(data, 16)
		if !slices.Equal(got, want) || int(l.tcpStats.tooLong.Load()) != tooLong {
			t.Errorf("got %q (%d too long), want %q (%d)", got, l.tcpStats.tooLong.Load(), want, tooLong)
		}
	})
}
