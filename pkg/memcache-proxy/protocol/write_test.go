package protocol

import (
	"bufio"
	"errors"
	"strings"
	"testing"
)

func TestAppendRequest(t *testing.T) {
	for _, tt := range []struct{ in, asSent, withReply string }{
		{"  get  a   b \r\n", "get a b\r\n", "get a b\r\n"},
		{"set a 0 0 1 noreply\r\nx\r\n", "set a 0 0 1 noreply\r\nx\r\n", "set a 0 0 1\r\nx\r\n"},
		{"cas a 0 0 1 9 noreply\nx\r\n", "cas a 0 0 1 9 noreply\r\nx\r\n", "cas a 0 0 1 9\r\nx\r\n"},
		{"set a 0 0 1 norep\r\nx\r\n", "set a 0 0 1 norep\r\nx\r\n", "set a 0 0 1 norep\r\nx\r\n"},
		{"delete a 0 noreply\r\n", "delete a 0 noreply\r\n", "delete a 0\r\n"},
		{"incr a 1 noreply\r\n", "incr a 1 noreply\r\n", "incr a 1\r\n"},
		{"touch a 1 noreply\r\n", "touch a 1 noreply\r\n", "touch a 1\r\n"},
		{"mg a q v k\r\n", "mg a q v k\r\n", "mg a v k\r\n"},
		{"mg a q v q\r\n", "mg a q v q\r\n", "mg a q v q\r\n"}, // memcached answers duplicate flag
		{"ms YQ== 2 b q T1\r\nxy\r\n", "ms YQ== 2 b q T1\r\nxy\r\n", "ms YQ== 2 b T1\r\nxy\r\n"},
		{"me a q\r\n", "me a q\r\n", "me a q\r\n"},
	} {
		var r Request
		if err := newReader(tt.in, Limits{}, 4096).Read(&r); err != nil {
			t.Fatalf("Read(%q): %v", tt.in, err)
		}
		if got := string(AppendRequest(nil, &r, false)); got != tt.asSent {
			t.Errorf("AppendRequest(%q, false) = %q, want %q", tt.in, got, tt.asSent)
		}
		if got := string(AppendRequest(nil, &r, true)); got != tt.withReply {
			t.Errorf("AppendRequest(%q, true) = %q, want %q", tt.in, got, tt.withReply)
		}
	}
}

func TestAppendGetFitKeys(t *testing.T) {
	keys := [][]byte{[]byte("aaaa"), []byte("bb"), []byte("c")}
	if got := string(AppendGet(nil, CmdGats, -5, keys)); got != "gats -5 aaaa bb c\r\n" {
		t.Errorf("AppendGet = %q", got)
	}
	if got := string(AppendGet(nil, CmdGets, 9, keys[1:])); got != "gets bb c\r\n" {
		t.Errorf("AppendGet = %q", got)
	}
	for _, tt := range []struct {
		cmd     Command
		exptime int32
		max     int
		want    int
	}{
		{CmdGet, 0, 1000, 3},
		{CmdGet, 0, len("get aaaa bb\r\n"), 2},
		{CmdGet, 0, len("get aaaa bb\r\n") - 1, 1},
		{CmdGat, 100, len("gat 100 aaaa\r\n"), 1},
		{CmdGat, 100, 5, 1}, // a key always fits
		{CmdGats, -1, len("gats -1 aaaa bb c\r\n"), 3},
	} {
		if got := FitKeys(tt.cmd, tt.exptime, keys, tt.max); got != tt.want {
			t.Errorf("FitKeys(%s, %d, max %d) = %d, want %d", tt.cmd, tt.exptime, tt.max, got, tt.want)
		}
	}
	if FitKeys(CmdGet, 0, nil, 10) != 0 {
		t.Error("FitKeys of no keys")
	}
}

func TestInvalidate(t *testing.T) {
	for _, tt := range []struct {
		in, lim string
		want    string // AppendInvalidate of Error.Invalidate; "" for none
	}{
		{in: "set ab 0 0 9\r\n123456789\r\n", want: "md ab\r\n"},
		{in: "set ab 0 0 9 noreply\r\n123456789\r\n", want: "md ab\r\n"},
		{in: "add ab 0 0 9\r\n123456789\r\n"},
		{in: "append ab 0 0 9\r\n123456789\r\n"},
		{in: "ms ab 9 MA\r\n123456789\r\n", want: "md ab\r\n"},
		{in: "ms YSBi 9 b\r\n123456789\r\n", want: "md YSBi b\r\n"}, // "a b"
		{in: "ms YQ 9 b\r\n123456789\r\n"},                          // does not decode: memcached unlinks nothing
	} {
		var r Request
		err := newReader(tt.in, Limits{MaxItemSize: 8}, 4096).Read(&r)
		var perr *Error
		if !errors.As(err, &perr) || perr.Reason != ReasonTooLarge {
			t.Fatalf("Read(%q) = %v", tt.in, err)
		}
		got := ""
		if perr.Invalidate != nil {
			got = string(AppendInvalidate(nil, perr.Invalidate))
		}
		if got != tt.want {
			t.Errorf("%q: invalidate %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAppendReplies(t *testing.T) {
	var b []byte
	b = AppendValue(b, []byte("k"), 7, []byte("ab"), 0, false)
	b = AppendValue(b, []byte("k"), 0, nil, 42, true)
	b = append(b, ReplyEnd...)
	b = AppendStat(b, "curr_connections", "3")
	b = AppendVersion(b, "podkit-1.0")
	b = AppendServerError(b, "backend timeout")
	want := "VALUE k 7 2\r\nab\r\nVALUE k 0 0 42\r\n\r\nEND\r\nSTAT curr_connections 3\r\nVERSION podkit-1.0\r\nSERVER_ERROR backend timeout\r\n"
	if string(b) != want {
		t.Fatalf("got %q, want %q", b, want)
	}
	// What the proxy writes, its own response reader reads.
	rr := NewResponseReader(bufio.NewReader(strings.NewReader(want)), Limits{})
	var r Response
	for _, s := range []Status{StatusValue, StatusValue, StatusEnd, StatusStat, StatusVersion, StatusServerError} {
		if err := rr.Read(&r); err != nil || r.Status != s {
			t.Fatalf("Read = %v %v, want %v", r.Status, err, s)
		}
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Command: CmdSet, Reason: ReasonBadDataChunk, Reply: ReplyBadDataChunk, Close: true}
	if got, want := e.Error(), "memcache protocol: set: bad_data_chunk: CLIENT_ERROR bad data chunk (connection closed)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
