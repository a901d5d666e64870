package protocol

import (
	"bufio"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// req is the part of a Request a test compares.
type req struct {
	Cmd     Command
	Keys    []string
	NoReply bool
	Quiet   bool
	Flags   uint32
	Exptime int32
	Cas     uint64
	Delta   uint64
	Data    string
	Args    []string
}

func summary(r *Request) req {
	s := req{Cmd: r.Command, NoReply: r.NoReply, Quiet: r.Quiet, Flags: r.Flags, Exptime: r.Exptime,
		Cas: r.Cas, Delta: r.Delta, Data: string(r.Data)}
	for _, k := range r.Keys {
		s.Keys = append(s.Keys, string(k))
	}
	for _, a := range r.Args {
		s.Args = append(s.Args, string(a))
	}
	return s
}

func (a req) equal(b req) bool {
	return a.Cmd == b.Cmd && slices.Equal(a.Keys, b.Keys) && a.NoReply == b.NoReply && a.Quiet == b.Quiet &&
		a.Flags == b.Flags && a.Exptime == b.Exptime && a.Cas == b.Cas && a.Delta == b.Delta &&
		a.Data == b.Data && slices.Equal(a.Args, b.Args)
}

// rej is an expected *Error.
type rej struct {
	Reason Reason
	Reply  string
	Close  bool
}

var k250, k251 = strings.Repeat("k", 250), strings.Repeat("k", 251)

// requestTests: each input is followed by "mn\r\n", which must parse next
// unless the connection is to be closed: that checks the parser is back in
// sync after a rejected request.
var requestTests = []struct {
	name string
	in   string
	want req // when err is zero
	err  rej // expected rejection
	lim  Limits
}{
	// Retrieval.
	{name: "get", in: "get a\r\n", want: req{Cmd: CmdGet, Keys: []string{"a"}}},
	{name: "get LF only", in: "get a\n", want: req{Cmd: CmdGet, Keys: []string{"a"}}},
	{name: "get spaces", in: "  get  a   b  \r\n", want: req{Cmd: CmdGet, Keys: []string{"a", "b"}}},
	{name: "gets many", in: "gets a b c a\r\n", want: req{Cmd: CmdGets, Keys: []string{"a", "b", "c", "a"}}},
	{name: "get key 250", in: "get " + k250 + "\r\n", want: req{Cmd: CmdGet, Keys: []string{k250}}},
	{name: "get key with tab and control bytes", in: "get a\tb c\x01d\r\n", want: req{Cmd: CmdGet, Keys: []string{"a\tb", "c\x01d"}}},
	{name: "get key with CR inside", in: "get a\rb\r\n", want: req{Cmd: CmdGet, Keys: []string{"a\rb"}}},
	{name: "get key ending in CR", in: "get a\r\r\n", want: req{Cmd: CmdGet, Keys: []string{"a\r"}}},
	{name: "gat", in: "gat 10 a b\r\n", want: req{Cmd: CmdGat, Exptime: 10, Keys: []string{"a", "b"}}},
	{name: "gats negative", in: "gats -1 a\r\n", want: req{Cmd: CmdGats, Exptime: -1, Keys: []string{"a"}}},
	{name: "gat without keys", in: "gat 10\r\n", want: req{Cmd: CmdGat, Exptime: 10}},
	{name: "gat noreply is a key", in: "gat 1 a noreply\r\n", want: req{Cmd: CmdGat, Exptime: 1, Keys: []string{"a", "noreply"}}},
	{name: "get no key", in: "get\r\n", err: rej{ReasonBadFormat, ReplyError, false}},
	{name: "get space no key", in: "get \r\n", err: rej{ReasonBadFormat, ReplyError, false}},
	{name: "get key 251", in: "get a " + k251 + "\r\n", err: rej{ReasonKeyTooLong, ReplyBadFormat, false}},
	{name: "gat bad exptime", in: "gat x a\r\n", err: rej{ReasonBadFormat, ReplyBadExptime, false}},
	{name: "gat exptime only is a bad exptime", in: "gat a\r\n", err: rej{ReasonBadFormat, ReplyBadExptime, false}},
	{name: "too many keys", in: "get a b c d e\r\n", lim: Limits{MaxKeys: 4}, err: rej{ReasonTooManyKeys, ReplyTooManyKeys, false}},
	{name: "gat keys at limit", in: "gat 1 a b c d\r\n", lim: Limits{MaxKeys: 4}, want: req{Cmd: CmdGat, Exptime: 1, Keys: []string{"a", "b", "c", "d"}}},
	{name: "strict keys", in: "get a\x01b\r\n", lim: Limits{StrictKeys: true}, err: rej{ReasonBadKey, ReplyBadFormat, false}},
	{name: "get line over MaxLine", in: "get " + strings.Repeat("k ", 1500) + "\r\n", want: req{Cmd: CmdGet, Keys: slices.Repeat([]string{"k"}, 1500)}},
	{name: "get line over MaxGetLine", in: "get " + strings.Repeat("k ", 2000) + "\r\n", lim: Limits{MaxGetLine: 3000},
		err: rej{ReasonLineTooLong, ReplyLineTooLong, false}},
	{name: "gat long line", in: "gat 1 " + strings.Repeat("k ", 1500) + "\r\n", want: req{Cmd: CmdGat, Exptime: 1, Keys: slices.Repeat([]string{"k"}, 1500)}},
	{name: "get after 100 spaces", in: strings.Repeat(" ", 100) + "get " + strings.Repeat("k ", 1500) + "\r\n", want: req{Cmd: CmdGet, Keys: slices.Repeat([]string{"k"}, 1500)}},

	// Storage.
	{name: "set", in: "set a 5 10 3\r\nabc\r\n", want: req{Cmd: CmdSet, Keys: []string{"a"}, Flags: 5, Exptime: 10, Data: "abc"}},
	{name: "set empty", in: "set a 0 0 0\r\n\r\n", want: req{Cmd: CmdSet, Keys: []string{"a"}}},
	{name: "set noreply", in: "set a 0 0 1 noreply\r\nx\r\n", want: req{Cmd: CmdSet, Keys: []string{"a"}, NoReply: true, Data: "x"}},
	{name: "set other 6th token", in: "set a 0 0 1 norep\r\nx\r\n", want: req{Cmd: CmdSet, Keys: []string{"a"}, Data: "x"}},
	{name: "set data with CRLF inside", in: "set a 0 0 4\r\n\r\n\r\n\r\n", want: req{Cmd: CmdSet, Keys: []string{"a"}, Data: "\r\n\r\n"}},
	{name: "set LF line", in: "set a 0 0 1\nx\r\n", want: req{Cmd: CmdSet, Keys: []string{"a"}, Data: "x"}},
	{name: "set numbers as C reads them", in: "set a +1 -1 \t01\tz\r\nx\r\n", want: req{Cmd: CmdSet, Keys: []string{"a"}, Flags: 1, Exptime: -1, Data: "x"}},
	{name: "set max flags", in: "set a 4294967295 0 1\r\nx\r\n", want: req{Cmd: CmdSet, Keys: []string{"a"}, Flags: 1<<32 - 1, Data: "x"}},
	{name: "add", in: "add a 0 0 1\r\nx\r\n", want: req{Cmd: CmdAdd, Keys: []string{"a"}, Data: "x"}},
	{name: "replace", in: "replace a 0 0 1\r\nx\r\n", want: req{Cmd: CmdReplace, Keys: []string{"a"}, Data: "x"}},
	{name: "append", in: "append a 0 0 1\r\nx\r\n", want: req{Cmd: CmdAppend, Keys: []string{"a"}, Data: "x"}},
	{name: "prepend noreply", in: "prepend a 0 0 1 noreply\r\nx\r\n", want: req{Cmd: CmdPrepend, Keys: []string{"a"}, NoReply: true, Data: "x"}},
	{name: "cas", in: "cas a 1 2 1 18446744073709551615\r\nx\r\n", want: req{Cmd: CmdCas, Keys: []string{"a"}, Flags: 1, Exptime: 2, Cas: 1<<64 - 1, Data: "x"}},
	{name: "cas noreply", in: "cas a 0 0 1 7 noreply\r\nx\r\n", want: req{Cmd: CmdCas, Keys: []string{"a"}, Cas: 7, NoReply: true, Data: "x"}},
	{name: "set at MaxItemSize", in: "set a 0 0 8\r\n12345678\r\n", lim: Limits{MaxItemSize: 8}, want: req{Cmd: CmdSet, Keys: []string{"a"}, Data: "12345678"}},

	{name: "set too few tokens", in: "set a 0 0\r\n", err: rej{ReasonBadFormat, ReplyError, true}},
	{name: "set too many tokens", in: "set a 0 0 1 noreply x\r\nx\r\n", err: rej{ReasonBadFormat, ReplyError, true}},
	{name: "cas without unique", in: "cas a 0 0 1\r\nx\r\n", err: rej{ReasonBadFormat, ReplyError, true}},
	{name: "set bad length", in: "set a 0 0 abc\r\nx\r\n", err: rej{ReasonBadFormat, ReplyBadFormat, true}},
	{name: "set negative length", in: "set a 0 0 -1\r\n", err: rej{ReasonBadFormat, ReplyBadFormat, true}},
	{name: "set length over int32", in: "set a 0 0 4294967296\r\n", err: rej{ReasonBadFormat, ReplyBadFormat, true}},
	{name: "set length INT_MAX-1", in: "set a 0 0 2147483646\r\n", err: rej{ReasonBadFormat, ReplyBadFormat, true}},
	{name: "set bad length noreply still answered", in: "set a 0 0 x noreply\r\n", err: rej{ReasonBadFormat, ReplyBadFormat, true}},
	{name: "set bad flags swallows", in: "set a abc 0 1\r\nx\r\n", err: rej{ReasonBadFormat, ReplyBadFormat, false}},
	{name: "set negative flags", in: "set a -1 0 1\r\nx\r\n", err: rej{ReasonBadFormat, ReplyBadFormat, false}},
	{name: "set flags over 32 bits", in: "set a 4294967296 0 1\r\nx\r\n", err: rej{ReasonBadFormat, ReplyBadFormat, false}},
	{name: "set bad exptime", in: "set a 0 x 1\r\nx\r\n", err: rej{ReasonBadFormat, ReplyBadFormat, false}},
	{name: "cas bad unique", in: "cas a 0 0 1 -1\r\nx\r\n", err: rej{ReasonBadFormat, ReplyBadFormat, false}},
	{name: "cas unique over 64 bits", in: "cas a 0 0 1 18446744073709551616\r\nx\r\n", err: rej{ReasonBadFormat, ReplyBadFormat, false}},
	{name: "set key 251", in: "set " + k251 + " 0 0 1\r\nx\r\n", err: rej{ReasonKeyTooLong, ReplyBadFormat, false}},
	{name: "set key 251 noreply is silent", in: "set " + k251 + " 0 0 1 noreply\r\nx\r\n", err: rej{ReasonKeyTooLong, "", false}},
	{name: "set strict key", in: "set a\x7f 0 0 1\r\nx\r\n", lim: Limits{StrictKeys: true}, err: rej{ReasonBadKey, ReplyBadFormat, false}},
	{name: "set too large", in: "set a 0 0 9\r\n123456789\r\n", lim: Limits{MaxItemSize: 8}, err: rej{ReasonTooLarge, ReplyTooLarge, false}},
	{name: "set too large noreply", in: "set a 0 0 9 noreply\r\n123456789\r\n", lim: Limits{MaxItemSize: 8}, err: rej{ReasonTooLarge, "", false}},
	{name: "set too large bad chunk", in: "set a 0 0 9\r\n1234567890\r\n", lim: Limits{MaxItemSize: 8}, err: rej{ReasonTooLarge, ReplyTooLarge, true}},
	{name: "swallowed chunk bad", in: "set a x 0 1\r\nxy\r\n", err: rej{ReasonBadFormat, ReplyBadFormat, true}},
	{name: "bad data chunk long", in: "set a 0 0 1\r\nxy\r\n", err: rej{ReasonBadDataChunk, ReplyBadDataChunk, true}},
	{name: "bad data chunk LF", in: "set a 0 0 1\r\nx\nmn\r\n", err: rej{ReasonBadDataChunk, ReplyBadDataChunk, true}},
	{name: "bad data chunk noreply", in: "set a 0 0 1 noreply\r\nxyz\r\n", err: rej{ReasonBadDataChunk, ReplyBadDataChunk, true}},

	// Single-key commands.
	{name: "delete", in: "delete a\r\n", want: req{Cmd: CmdDelete, Keys: []string{"a"}}},
	{name: "delete 0", in: "delete a 0\r\n", want: req{Cmd: CmdDelete, Keys: []string{"a"}}},
	{name: "delete noreply", in: "delete a noreply\r\n", want: req{Cmd: CmdDelete, Keys: []string{"a"}, NoReply: true}},
	{name: "delete 0 noreply", in: "delete a 0 noreply\r\n", want: req{Cmd: CmdDelete, Keys: []string{"a"}, NoReply: true}},
	{name: "delete hold time", in: "delete a 5\r\n", err: rej{ReasonBadFormat, ReplyDeleteUsage, false}},
	{name: "delete hold time noreply", in: "delete a 5 noreply\r\n", err: rej{ReasonBadFormat, "", false}},
	{name: "delete bad 4 tokens", in: "delete a 0 0\r\n", err: rej{ReasonBadFormat, ReplyDeleteUsage, false}},
	{name: "delete no key", in: "delete\r\n", err: rej{ReasonBadFormat, ReplyError, false}},
	{name: "delete too many", in: "delete a 0 noreply x\r\n", err: rej{ReasonBadFormat, ReplyError, false}},
	{name: "delete key 251", in: "delete " + k251 + "\r\n", err: rej{ReasonKeyTooLong, ReplyBadFormat, false}},
	{name: "incr", in: "incr a 18446744073709551615\r\n", want: req{Cmd: CmdIncr, Keys: []string{"a"}, Delta: 1<<64 - 1}},
	{name: "decr noreply", in: "decr a 2 noreply\r\n", want: req{Cmd: CmdDecr, Keys: []string{"a"}, Delta: 2, NoReply: true}},
	{name: "incr other 4th token", in: "incr a 1 x\r\n", want: req{Cmd: CmdIncr, Keys: []string{"a"}, Delta: 1}},
	{name: "incr bad delta", in: "incr a -1\r\n", err: rej{ReasonBadFormat, ReplyBadDelta, false}},
	{name: "incr delta over 64 bits", in: "incr a 18446744073709551616\r\n", err: rej{ReasonBadFormat, ReplyBadDelta, false}},
	{name: "incr no delta", in: "incr a\r\n", err: rej{ReasonBadFormat, ReplyError, false}},
	{name: "incr too many", in: "incr a 1 noreply x\r\n", err: rej{ReasonBadFormat, ReplyError, false}},
	{name: "incr key 251", in: "incr " + k251 + " 1\r\n", err: rej{ReasonKeyTooLong, ReplyBadFormat, false}},
	{name: "touch", in: "touch a 10\r\n", want: req{Cmd: CmdTouch, Keys: []string{"a"}, Exptime: 10}},
	{name: "touch noreply", in: "touch a 10 noreply\r\n", want: req{Cmd: CmdTouch, Keys: []string{"a"}, Exptime: 10, NoReply: true}},
	{name: "touch bad exptime", in: "touch a x\r\n", err: rej{ReasonBadFormat, ReplyBadExptime, false}},
	{name: "touch bad exptime noreply", in: "touch a x noreply\r\n", err: rej{ReasonBadFormat, "", false}},
	{name: "touch no exptime", in: "touch a\r\n", err: rej{ReasonBadFormat, ReplyError, false}},

	// Local commands.
	{name: "version", in: "version\r\n", want: req{Cmd: CmdVersion}},
	{name: "version args", in: "version x y\r\n", want: req{Cmd: CmdVersion}},
	{name: "quit", in: "quit\r\n", want: req{Cmd: CmdQuit}},
	{name: "stats", in: "stats\r\n", want: req{Cmd: CmdStats}},
	{name: "stats args", in: "stats items  x\r\n", want: req{Cmd: CmdStats, Args: []string{"items", "x"}}},
	{name: "verbosity", in: "verbosity 1\r\n", want: req{Cmd: CmdVerbosity, Args: []string{"1"}}},
	{name: "verbosity noreply", in: "verbosity 1 noreply\r\n", want: req{Cmd: CmdVerbosity, NoReply: true, Args: []string{"1", "noreply"}}},
	{name: "verbosity bad", in: "verbosity x\r\n", err: rej{ReasonBadFormat, ReplyBadFormat, false}},
	{name: "verbosity none", in: "verbosity\r\n", err: rej{ReasonBadFormat, ReplyError, false}},
	{name: "flush_all", in: "flush_all\r\n", want: req{Cmd: CmdFlushAll}},
	{name: "flush_all delay noreply", in: "flush_all 10 noreply\r\n", want: req{Cmd: CmdFlushAll, Exptime: 10, NoReply: true, Args: []string{"10", "noreply"}}},
	{name: "flush_all noreply", in: "flush_all noreply\r\n", want: req{Cmd: CmdFlushAll, NoReply: true, Args: []string{"noreply"}}},
	{name: "flush_all bad", in: "flush_all x\r\n", err: rej{ReasonBadFormat, ReplyBadExptime, false}},
	{name: "flush_all noreply x", in: "flush_all noreply x\r\n", err: rej{ReasonBadFormat, ReplyBadExptime, false}},
	{name: "flush_all too many", in: "flush_all 0 0 0\r\n", err: rej{ReasonBadFormat, ReplyError, false}},

	// Meta.
	{name: "mn", in: "mn\r\n", want: req{Cmd: CmdMetaNoop}},
	{name: "mg", in: "mg a v f t c k s O123\r\n", want: req{Cmd: CmdMetaGet, Keys: []string{"a"}, Args: []string{"v", "f", "t", "c", "k", "s", "O123"}}},
	{name: "mg no flags", in: "mg a\r\n", want: req{Cmd: CmdMetaGet, Keys: []string{"a"}}},
	{name: "mg quiet", in: "mg a v q\r\n", want: req{Cmd: CmdMetaGet, Keys: []string{"a"}, Quiet: true, Args: []string{"v", "q"}}},
	{name: "mg two q", in: "mg a q q\r\n", want: req{Cmd: CmdMetaGet, Keys: []string{"a"}, Quiet: true, Args: []string{"q", "q"}}},
	{name: "mg base64", in: "mg YWJj b v\r\n", want: req{Cmd: CmdMetaGet, Keys: []string{"abc"}, Args: []string{"b", "v"}}},
	{name: "mg base64 stops at padding", in: "mg YQ==YQ== b v\r\n", want: req{Cmd: CmdMetaGet, Keys: []string{"a"}, Args: []string{"b", "v"}}},
	{name: "mg base64 undecodable", in: "mg YQ b\r\n", want: req{Cmd: CmdMetaGet, Keys: []string{"YQ"}, Args: []string{"b"}}},
	{name: "mg invalid flag forwarded", in: "mg a zz !\r\n", want: req{Cmd: CmdMetaGet, Keys: []string{"a"}, Args: []string{"zz", "!"}}},
	{name: "mg 19 tokens", in: "mg a" + strings.Repeat(" v", 17) + "\r\n", want: req{Cmd: CmdMetaGet, Keys: []string{"a"}, Args: slices.Repeat([]string{"v"}, 17)}},
	{name: "mg 20 tokens", in: "mg a" + strings.Repeat(" v", 18) + "\r\n", err: rej{ReasonBadFormat, ReplyMetaGetFlagsLong, false}},
	{name: "md 20 tokens", in: "md a" + strings.Repeat(" T1", 18) + "\r\n", err: rej{ReasonBadFormat, ReplyMetaFlagsLong, false}},
	{name: "mg no key", in: "mg\r\n", err: rej{ReasonBadFormat, ReplyError, false}},
	{name: "mg key 251", in: "mg " + k251 + " v\r\n", err: rej{ReasonKeyTooLong, ReplyBadFormat, false}},
	{name: "md", in: "md a q C5\r\n", want: req{Cmd: CmdMetaDelete, Keys: []string{"a"}, Quiet: true, Args: []string{"q", "C5"}}},
	{name: "ma", in: "ma a MD D3 v\r\n", want: req{Cmd: CmdMetaArithmetic, Keys: []string{"a"}, Args: []string{"MD", "D3", "v"}}},
	{name: "ma no key", in: "ma\r\n", err: rej{ReasonBadFormat, ReplyError, false}},
	{name: "me", in: "me a\r\n", want: req{Cmd: CmdMetaDebug, Keys: []string{"a"}}},
	{name: "me base64", in: "me YQ== b\r\n", want: req{Cmd: CmdMetaDebug, Keys: []string{"a"}, Args: []string{"b"}}},
	{name: "me q is not a flag", in: "me a q\r\n", want: req{Cmd: CmdMetaDebug, Keys: []string{"a"}, Args: []string{"q"}}},
	{name: "me no key", in: "me\r\n", err: rej{ReasonBadFormat, ReplyBadFormat, false}},
	{name: "ms", in: "ms a 2 T0 F5 I\r\nxy\r\n", want: req{Cmd: CmdMetaSet, Keys: []string{"a"}, Data: "xy", Args: []string{"T0", "F5", "I"}}},
	{name: "ms quiet base64", in: "ms YQ== 1 q b\r\nx\r\n", want: req{Cmd: CmdMetaSet, Keys: []string{"a"}, Quiet: true, Data: "x", Args: []string{"q", "b"}}},
	{name: "ms no key", in: "ms\r\n", err: rej{ReasonBadFormat, ReplyError, true}},
	{name: "ms no length", in: "ms a\r\nx\r\n", err: rej{ReasonBadFormat, ReplyBadFormat, true}},
	{name: "ms bad length", in: "ms a S1\r\nx\r\n", err: rej{ReasonBadFormat, ReplyBadFormat, true}},
	{name: "ms key 251", in: "ms " + k251 + " 1\r\nx\r\n", err: rej{ReasonKeyTooLong, ReplyBadFormat, false}},
	{name: "ms 20 tokens", in: "ms a 1" + strings.Repeat(" T1", 17) + "\r\nx\r\n", err: rej{ReasonBadFormat, ReplyMetaFlagsLong, false}},
	{name: "ms too large", in: "ms a 9 q\r\n123456789\r\n", lim: Limits{MaxItemSize: 8}, err: rej{ReasonTooLarge, ReplyTooLarge, false}},
	{name: "ms bad data chunk", in: "ms a 1\r\nxy\r\n", err: rej{ReasonBadDataChunk, ReplyBadDataChunk, true}},

	// Garbage.
	{name: "empty line", in: "\r\n", err: rej{ReasonUnknownCommand, ReplyError, false}},
	{name: "spaces", in: "   \r\n", err: rej{ReasonUnknownCommand, ReplyError, false}},
	{name: "unknown", in: "foo bar\r\n", err: rej{ReasonUnknownCommand, ReplyError, false}},
	{name: "upper case", in: "GET a\r\n", err: rej{ReasonUnknownCommand, ReplyError, false}},
	{name: "admin command", in: "shutdown\r\n", err: rej{ReasonUnknownCommand, ReplyError, false}},
	{name: "meta unknown", in: "mz a\r\n", err: rej{ReasonUnknownCommand, ReplyError, false}},
	{name: "http", in: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", err: rej{ReasonHTTP, "", true}},
	{name: "long line", in: strings.Repeat("x", 3000) + "\r\n", err: rej{ReasonLineTooLong, ReplyLineTooLong, true}},
	{name: "long set line", in: "set a 0 0 1 " + strings.Repeat(" ", 2100) + "\r\nx\r\n", err: rej{ReasonLineTooLong, ReplyLineTooLong, true}},
	{name: "long mg line", in: "mg " + strings.Repeat("k", 2100) + " v\r\n", err: rej{ReasonLineTooLong, ReplyLineTooLong, true}},
}

func newReader(in string, lim Limits, bufSize int) *RequestReader {
	return NewRequestReader(bufio.NewReaderSize(strings.NewReader(in), bufSize), lim)
}

func TestReadRequest(t *testing.T) {
	for _, tt := range requestTests {
		for _, size := range []int{16, 4096} { // 16: lines and blocks span many buffer fills
			rr := newReader(tt.in+"mn\r\n", tt.lim, size)
			var r Request
			err := rr.Read(&r)
			var perr *Error
			switch {
			case tt.err == rej{}:
				if err != nil {
					t.Fatalf("%s: Read(%q) = %v, want %+v", tt.name, tt.in, err, tt.want)
				}
				if got := summary(&r); !got.equal(tt.want) {
					t.Fatalf("%s: Read(%q) = %+v, want %+v", tt.name, tt.in, got, tt.want)
				}
			case !errors.As(err, &perr):
				t.Fatalf("%s: Read(%q) = %v (%+v), want *Error %+v", tt.name, tt.in, err, summary(&r), tt.err)
			case (rej{perr.Reason, perr.Reply, perr.Close}) != tt.err:
				t.Fatalf("%s: Read(%q) = %+v, want %+v", tt.name, tt.in, *perr, tt.err)
			case perr.Close:
				continue
			}
			if err := rr.Read(&r); err != nil || r.Command != CmdMetaNoop {
				t.Fatalf("%s: after %q: next Read = %v %v, want mn (out of sync)", tt.name, tt.in, r.Command, err)
			}
			if err := rr.Read(&r); err != io.EOF {
				t.Fatalf("%s: after %q: Read at end = %v, want io.EOF", tt.name, tt.in, err)
			}
		}
	}
}

func TestReadRequestEOF(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want error
	}{
		{"", io.EOF},
		{"get a", io.ErrUnexpectedEOF},
		{"set a 0 0 5\r\nab", io.ErrUnexpectedEOF},
		{"set a 0 0 5\r\nabcde", io.ErrUnexpectedEOF},
		{"set a 0 0 5\r\nabcde\r", io.ErrUnexpectedEOF},
		{"set a x 0 5\r\nab", io.ErrUnexpectedEOF},                  // while swallowing
		{"get " + strings.Repeat("k ", 40000), io.ErrUnexpectedEOF}, // while skipping a long line
		{"ms a 2\r\n", io.ErrUnexpectedEOF},
	} {
		rr := newReader(tt.in, Limits{}, 64)
		var r Request
		if err := rr.Read(&r); err != tt.want {
			t.Errorf("Read(%.40q) = %v, want %v", tt.in, err, tt.want)
		}
	}
}

// A large value grows the Request's buffer; the next Read lets it go.
func TestRequestBuffersNotRetained(t *testing.T) {
	big := strings.Repeat("x", 512<<10)
	rr := newReader("set a 0 0 "+strconv.Itoa(len(big))+"\r\n"+big+"\r\nget a\r\n", Limits{}, 4096)
	var r Request
	if err := rr.Read(&r); err != nil || len(r.Data) != len(big) {
		t.Fatalf("Read = %v, %d bytes", err, len(r.Data))
	}
	if err := rr.Read(&r); err != nil {
		t.Fatal(err)
	}
	if cap(r.data) > retainBytes {
		t.Errorf("data buffer of %d bytes kept after a small request", cap(r.data))
	}
}

func TestLimitsValidate(t *testing.T) {
	for _, tt := range []struct {
		lim Limits
		err string
	}{
		{Limits{}, ""},
		{Limits{MaxItemSize: 1, MaxLine: 512, MaxGetLine: 512, MaxKeys: 1}, ""},
		{Limits{MaxItemSize: -1}, "MaxItemSize must be >= 0 (got -1)"},
		{Limits{MaxKeys: -5}, "MaxKeys must be >= 0"},
		{Limits{MaxLine: 100}, "MaxLine must be >= 512 (got 100)"},
		{Limits{MaxLine: 4096, MaxGetLine: 1024}, "MaxGetLine (1024) must be >= MaxLine (4096)"},
	} {
		err := tt.lim.Validate()
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrBadLimits)) {
			t.Errorf("%+v.Validate() = %v, want %q", tt.lim, err, tt.err)
		}
	}
}

func TestCommand(t *testing.T) {
	for c := CmdUnknown; c < numCommands; c++ {
		if c != CmdUnknown && lookupCommand([]byte(c.String())) != c {
			t.Errorf("lookupCommand(%q) != %d", c.String(), c)
		}
		n := 0
		for _, b := range []bool{c.IsRetrieval(), c.Keyed(), c.Local()} {
			if b {
				n++
			}
		}
		if n != 1 && c != CmdUnknown {
			t.Errorf("%s: want exactly one of IsRetrieval, Keyed, Local", c)
		}
	}
	if Command(200).String() != "unknown" || Status(200).String() != "unknown" {
		t.Error("out-of-range String")
	}
}
