package protocol

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/memcachedtest"
)

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// flushAll empties a server between cases.
func flushAll(t *testing.T, addr string) {
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "flush_all\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "OK\r\n" {
		t.Fatalf("flush_all: %q %v", line, err)
	}
}

// endOfCase follows every case's input; its reply marks the end of memcached's
// output (unless memcached swallowed it or closed).
const (
	endOfCase      = "mg __eoc__ k\r\n"
	endOfCaseReply = "EN k__eoc__\r\n"
)

// direct sends in to memcached as one client would and returns everything
// memcached answers, and whether it closed the connection.
func direct(t *testing.T, addr, in string) (out string, closed bool) {
	c := dial(t, addr)
	wrote := make(chan struct{}) // the writer may block while memcached reads a 2 MB value
	go func() { defer close(wrote); io.WriteString(c, in+endOfCase) }()
	defer func() { c.Close(); <-wrote }()
	var buf []byte
	chunk := make([]byte, 64<<10)
	for !strings.HasSuffix(string(buf), endOfCaseReply) {
		// Quiet for this long means memcached is waiting for bytes that will
		// not come (it swallowed the marker into a data block).
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := c.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return string(buf), true
		}
	}
	return strings.TrimSuffix(string(buf), endOfCaseReply), false
}

// viaCodec plays a minimal proxy with one server: it parses in with a
// RequestReader, forwards each request with AppendRequest (retrievals with
// AppendGet, split by FitKeys), reads the answers with a ResponseReader and
// Ends, drops what noreply and q hide, and returns what the client would get.
func viaCodec(t *testing.T, addr, in string) (out string, closed bool) {
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	server := NewResponseReader(bufio.NewReader(c), Limits{})
	client := NewRequestReader(bufio.NewReader(strings.NewReader(in+endOfCase)), Limits{})
	var (
		res  []byte
		buf  []byte
		req  Request
		resp Response
	)
	// exchange sends buf and reads one response unit for cmd.
	exchange := func(cmd Command, keep func(*Response) bool) {
		if _, err := c.Write(buf); err != nil {
			t.Fatalf("write %q: %v", buf, err)
		}
		for {
			if err := server.Read(&resp); err != nil {
				t.Fatalf("after %q: %v", buf, err)
			}
			done, ok := resp.Ends(cmd)
			if !ok {
				t.Fatalf("after %q: %s does not answer %s", buf, resp.Status, cmd)
			}
			if keep(&resp) {
				res = AppendResponse(res, &resp)
			}
			if done {
				return
			}
		}
	}
	for {
		err := client.Read(&req)
		var perr *Error
		switch {
		case errors.Is(err, io.EOF):
			return strings.TrimSuffix(string(res), endOfCaseReply), false
		case errors.As(err, &perr):
			res = append(res, perr.Reply...)
			if perr.Invalidate != nil {
				buf = AppendInvalidate(buf[:0], perr.Invalidate)
				exchange(CmdMetaDelete, func(*Response) bool { return false })
			}
			if perr.Close {
				return string(res), true
			}
			continue
		case err != nil:
			t.Fatal(err)
		}
		cmd := req.Command
		switch {
		case cmd == CmdQuit:
			return string(res), true
		case cmd.IsRetrieval():
			keep := func(r *Response) bool { return r.Status != StatusEnd }
			for keys := req.Keys; len(keys) > 0; {
				n := FitKeys(cmd, req.Exptime, keys, BackendMaxLine)
				buf = AppendGet(buf[:0], cmd, req.Exptime, keys[:n])
				exchange(cmd, keep)
				keys = keys[n:]
			}
			res = append(res, ReplyEnd...)
		default:
			buf = AppendRequest(buf[:0], &req, true)
			exchange(cmd, func(r *Response) bool {
				return !req.NoReply && !(req.Quiet && r.HiddenByQuiet(cmd))
			})
		}
	}
}

var (
	casInValue = regexp.MustCompile(`(?m)^(VALUE \S+ \d+ \d+) \d+\r$`)
	casInMeta  = regexp.MustCompile(`(?m)^((?:VA|HD|EN|NF|NS|EX)(?: \S+)*?) c\d+`)
	meLine     = regexp.MustCompile(`(?m)^ME (\S+) .*\r$`)
)

// normalize hides what differs between two servers fed the same commands:
// cas uniques (their counters run on across cases) and ME statistics.
func normalize(s string) string {
	s = casInValue.ReplaceAllString(s, "$1 CAS\r")
	s = casInMeta.ReplaceAllString(s, "$1 cCAS")
	return meLine.ReplaceAllString(s, "ME $1 ...\r")
}

var big2M = strings.Repeat("x", 2000000)

func manyKeys(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(" " + prefix + strconv.Itoa(i))
	}
	return b.String()
}

// memcachedTests are sent to memcached directly and through the codec. For
// "same" cases the client sees exactly what memcached says. The others are the
// proxy's documented departures (README.md): want is what the proxy answers;
// its first line is memcached's first line unless firstDiffers.
var memcachedTests = []struct {
	name         string
	in           string
	same         bool
	want         string
	close        bool
	firstDiffers bool
}{
	{name: "set get", in: "set a 0 0 1\r\nx\r\nget a\r\n", same: true},
	{name: "multiget order and duplicates", in: "set a 5 0 3\r\nabc\r\nset b 0 0 1 noreply\r\ny\r\nget a b c a\r\n", same: true},
	{name: "gets", in: "set a 0 0 1\r\nx\r\ngets a b\r\n", same: true},
	{name: "gat gats", in: "set a 0 0 1\r\nx\r\ngat 100 a b\r\ngats 0 a\r\ngat 10\r\ngat 10 a noreply\r\n", same: true},
	{name: "gat over BackendMaxLine", in: "set k7 0 0 1\r\n7\r\ngats 100" + manyKeys("k", 1000) + " k7\r\n", same: true},
	{name: "get 3000 keys", in: "set k2999 0 0 1\r\nz\r\nget" + manyKeys("k", 3000) + "\r\n", same: true},
	{name: "incr decr", in: "set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nincr n 18446744073709551615\r\nincr x 1\r\nincr n 1 noreply\r\nget n\r\n", same: true},
	{name: "incr non-numeric", in: "set t 0 0 1\r\nx\r\nincr t 1\r\n", same: true},
	{name: "touch", in: "set a 0 0 1\r\nx\r\ntouch a 10\r\ntouch b 10\r\ntouch a 10 noreply\r\ntouch a 1 x\r\n", same: true},
	{name: "delete", in: "set a 0 0 1\r\nx\r\ndelete a\r\ndelete a\r\ndelete a 0\r\nset a 0 0 1\r\nx\r\ndelete a noreply\r\nget a\r\n", same: true},
	{name: "add replace append prepend", in: "add a 0 0 1\r\nx\r\nadd a 0 0 1\r\ny\r\nreplace b 0 0 1\r\nz\r\nappend a 0 0 2\r\nyy\r\nprepend a 0 0 1\r\nw\r\nappend c 0 0 1\r\nv\r\nget a\r\n", same: true},
	{name: "cas", in: "set a 0 0 1\r\nx\r\ncas a 0 0 1 1\r\ny\r\ncas b 0 0 1 1\r\ny\r\ncas a 0 0 1 1 noreply\r\ny\r\n", same: true},
	{name: "version mn verbosity", in: "version\r\nmn\r\nverbosity 1\r\nverbosity 1 noreply\r\nmn x\r\n", same: true},
	{name: "C numbers", in: "set a 0 0 1\t\r\nx\r\nset a 0 0 \t1\r\nx\r\nset a 0 0 1\tz\r\nx\r\nset a +1 -1 01\r\nx\r\nset b 0 0 1 norep\r\ny\r\nget a b\r\n", same: true},
	{name: "control bytes in keys", in: "set a\x01b 0 0 1\r\nx\r\nget a\x01b a\x7fb a\tb\r\n", same: true},
	{name: "line errors", same: true, in: "foo\r\n\r\nGET a\r\nget\r\nget \r\n" +
		"incr a abc\r\nincr a -1\r\nincr a\r\nincr a 1 noreply x\r\nincr " + k251 + " 1\r\ntouch a abc\r\ntouch a\r\ntouch " + k251 + " 1\r\n" +
		"gat abc a\r\ngat a\r\ngat\r\ndelete a 5\r\ndelete a 0 0\r\ndelete a b noreply\r\ndelete\r\ndelete " + k251 + "\r\n" +
		"verbosity x\r\nverbosity\r\nmz a\r\nm\r\n"},
	// memcached 1.6.18 drops the unsent replies of every earlier command in
	// the same read when a get has a key over 250 bytes, so these go first.
	{name: "get key too long", in: "get " + k251 + "\r\nmn\r\n", same: true},
	{name: "get second key too long", in: "set a 0 0 1\r\nx\r\nget a " + k251 + "\r\nmn\r\n", want: "STORED\r\n" + ReplyBadFormat + ReplyMetaNoop, firstDiffers: true},
	{name: "gat key too long", in: "gat 1 " + k251 + "\r\nmn\r\n", same: true},
	{name: "noreply errors are silent", in: "incr a x noreply\r\ntouch a x noreply\r\ndelete a 5 noreply\r\nincr " + k251 + " 1 noreply\r\n", same: true},
	{name: "set too large unlinks", in: "set a 0 0 1\r\nx\r\nset a 0 0 2000000\r\n" + big2M + "\r\nget a\r\n", same: true},
	{name: "set too large noreply", in: "set a 0 0 1\r\nx\r\nset a 0 0 2000000 noreply\r\n" + big2M + "\r\nget a\r\n", same: true},
	{name: "add too large keeps", in: "set a 0 0 1\r\nx\r\nadd a 0 0 2000000\r\n" + big2M + "\r\nget a\r\n", same: true},
	{name: "meta", same: true, in: "ms a 1 T0 F5\r\nx\r\nmg a v f t k s O123\r\nmg b v\r\nmg a\r\nmg a k v\r\nmd a\r\nmd a\r\n" +
		"ma n\r\nms n 1\r\n5\r\nma n v D3\r\nma n MD v\r\nma n MI N0 J5 v\r\nme zz\r\nme n\r\nms a 1 c\r\nx\r\nms a 1 MA\r\ny\r\nmg a v c\r\nmn\r\n"},
	{name: "meta quiet", same: true, in: "ms z 1 q\r\nx\r\nmd z q\r\nmd z q\r\nma z q\r\nms n 1 q\r\n1\r\nma n q\r\nma n q v\r\n" +
		"mg n q\r\nmg n q v\r\nmg nn q v\r\nmg nn q v k O5\r\nms n 1 q ME\r\n1\r\nms n 1 q C1\r\n1\r\nmd n q C1\r\nmg a q q\r\nms a 1 q q\r\nx\r\nmg n qx v\r\nmn\r\n"},
	{name: "meta base64 keys", same: true, in: "ms YWJj 1 b\r\nx\r\nmg abc v\r\nmg YWJj b v k\r\nset a 0 0 1\r\ny\r\nmg YQ==YQ== b v\r\n" +
		"mg YQ b v\r\nmg YQ= b v\r\nmg ==== b v\r\nmg Y Q== b v\r\nmg YWJj bx v\r\nms a 1 b\r\nx\r\nme YWJj b\r\nme YQ b\r\nme a b\r\nmd YWJj b q\r\nmg abc v\r\n"},
	{name: "meta errors from memcached", same: true, in: "mg a zz\r\nmg a !\r\nmg a O1 O2\r\nms a 1 MZ\r\ny\r\nms a 1 S1\r\nx\r\nmd a 0\r\n" +
		"ma a q q\r\nma a MX\r\nms a 1 O" + strings.Repeat("x", 40) + "\r\nx\r\nmg a v k O" + strings.Repeat("x", 40) + "\r\nmg a" + strings.Repeat(" v", 17) + "\r\n"},
	{name: "meta line errors", same: true, in: "mg\r\nma\r\nmd\r\nme\r\nmg " + k251 + " v\r\nmd " + k251 + "\r\nma " + k251 + "\r\nme " + k251 + "\r\n" +
		"mg a" + strings.Repeat(" v", 18) + "\r\nmd a" + strings.Repeat(" T1", 18) + "\r\nma a" + strings.Repeat(" T1", 18) + "\r\n"},
	{name: "ms too large unlinks", in: "ms a 1\r\nx\r\nms a 2000000 MA\r\n" + big2M + "\r\nmg a v\r\n", same: true},
	{name: "http", in: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", same: true},
	{name: "quit", in: "get a\r\nquit\r\nget a\r\n", same: true},

	// Departures: the proxy never runs a client's data as commands.
	{name: "bad data chunk", in: "set a 0 0 1\r\nxy\r\nget a\r\n", want: ReplyBadDataChunk, close: true},
	{name: "bad data chunk ms", in: "ms a 1\r\nxyz\r\nmg a v\r\n", want: ReplyBadDataChunk, close: true},
	{name: "storage token count", in: "set a 0 0\r\nx\r\n", want: ReplyError, close: true},
	{name: "storage bad length", in: "set a 0 0 abc\r\nx\r\n", want: ReplyBadFormat, close: true},
	{name: "ms bad length", in: "ms a S1\r\nx\r\n", want: ReplyBadFormat, close: true},
	{name: "storage bad flags swallowed", in: "set a abc 0 1\r\nx\r\nget a\r\n", want: ReplyBadFormat + ReplyEnd},
	{name: "storage key too long swallowed", in: "set " + k251 + " 0 0 1\r\nx\r\nget a\r\n", want: ReplyBadFormat + ReplyEnd},
	{name: "storage key too long noreply", in: "set " + k251 + " 0 0 1 noreply\r\nx\r\nmn\r\n", want: ReplyMetaNoop, firstDiffers: true},
	{name: "ms key too long swallowed", in: "ms " + k251 + " 1\r\nx\r\nmn\r\n", want: ReplyBadFormat + ReplyMetaNoop},
	{name: "ms too many flags swallowed", in: "ms a 1" + strings.Repeat(" T1", 17) + "\r\nx\r\nmn\r\n", want: ReplyMetaFlagsLong + ReplyMetaNoop},
	// memcached 1.6.18 truncates numbers to 32 bits: a length of 2^32 reads as 0.
	{name: "length over 32 bits", in: "set a 0 0 4294967296\r\n", want: ReplyBadFormat, close: true, firstDiffers: true},
	{name: "flags over 32 bits", in: "set a 4294967296 0 1\r\nx\r\n", want: ReplyBadFormat, firstDiffers: true},
	{name: "exptime over 32 bits", in: "set a 0 2147483648 1\r\nx\r\n", want: ReplyBadFormat, firstDiffers: true},
	// Limits memcached does not have, or applies depending on packet boundaries.
	{name: "long line", in: strings.Repeat("x", 3000) + "\r\n", want: ReplyLineTooLong, close: true, firstDiffers: true},
	{name: "get line over 64 KiB", in: "get" + manyKeys("key", 10000) + "\r\nmn\r\n", want: ReplyLineTooLong + ReplyMetaNoop, firstDiffers: true},
	{name: "admin command", in: "shutdown\r\n", want: ReplyError, firstDiffers: true},
}

// TestAgainstMemcached runs every case through the codec to one memcached and
// straight to another, and compares what a client sees.
func TestAgainstMemcached(t *testing.T) {
	direct1, proxied := memcachedtest.Start(t).Addr, memcachedtest.Start(t).Addr
	for _, tt := range memcachedTests {
		t.Run(tt.name, func(t *testing.T) {
			flushAll(t, direct1)
			flushAll(t, proxied)
			mcOut, mcClosed := direct(t, direct1, tt.in)
			out, closed := viaCodec(t, proxied, tt.in)
			mcOut, out = normalize(mcOut), normalize(out)
			if tt.same {
				if out != mcOut || closed != mcClosed {
					t.Fatalf("in %.80q\nmemcached: %q closed=%v\ncodec:     %q closed=%v", tt.in, mcOut, mcClosed, out, closed)
				}
				return
			}
			if out != tt.want || closed != tt.close {
				t.Fatalf("in %.80q: codec %q closed=%v, want %q closed=%v", tt.in, out, closed, tt.want, tt.close)
			}
			first := func(s string) string { return s[:strings.Index(s+"\n", "\n")] }
			if (first(out) == first(mcOut)) == tt.firstDiffers {
				t.Fatalf("in %.80q: first lines: codec %q, memcached %q (firstDiffers=%v)", tt.in, first(out), first(mcOut), tt.firstDiffers)
			}
			t.Logf("memcached answered %.120q (closed=%v)", mcOut, mcClosed)
		})
	}
}

// TestMemcachedLongLines pins down the memcached behaviour behind
// BackendMaxLine and FitKeys: 2048 buffered bytes without a newline close the
// connection unless the line starts with "get " or "gets ".
func TestMemcachedLongLines(t *testing.T) {
	addr := memcachedtest.Start(t).Addr
	keys := manyKeys("k", 500) // 2.4 KB
	for _, tt := range []struct {
		verb   string
		closed bool
	}{{"get", false}, {"gets", false}, {"gat 10", true}, {"gats 10", true}, {"mg", true}, {"set", true}} {
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, tt.verb+keys); err != nil {
			t.Fatal(err)
		}
		if tt.closed {
			if n, err := c.Read(make([]byte, 64)); err != io.EOF {
				t.Errorf("%s: a %d-byte line start: read %d, %v; want the connection closed", tt.verb, len(tt.verb+keys), n, err)
			}
			continue
		}
		io.WriteString(c, "\r\n")
		if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || line != "END\r\n" {
			t.Errorf("%s: long line answered %q, %v; want END", tt.verb, line, err)
		}
	}
}
