package protocol_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/podkit/podkit/pkg/memcache-proxy/protocol"
)

// The read loop of a client connection: reject what memcached would, close
// when the stream cannot be trusted.
func ExampleRequestReader() {
	in := "bogus\r\nget a b\r\nset a 0 0 1\r\nxy\r\nget a\r\n"
	client := protocol.NewRequestReader(bufio.NewReader(strings.NewReader(in)), protocol.Limits{})
	var req protocol.Request
	for {
		err := client.Read(&req)
		var perr *protocol.Error
		switch {
		case errors.As(err, &perr):
			fmt.Printf("reply %q, reason %s, close %v\n", perr.Reply, perr.Reason, perr.Close)
			if perr.Close {
				return
			}
			continue
		case err != nil: // io.EOF, io.ErrUnexpectedEOF or the connection's error
			return
		}
		fmt.Printf("%s %q\n", req.Command, req.Keys)
	}
	// Output:
	// reply "ERROR\r\n", reason unknown_command, close false
	// get ["a" "b"]
	// reply "CLIENT_ERROR bad data chunk\r\n", reason bad_data_chunk, close true
}

// A multi-key get split between two servers and answered in the client's key
// order with one END.
func ExampleAppendGet() {
	client := protocol.NewRequestReader(bufio.NewReader(strings.NewReader("get a b c d a\r\n")), protocol.Limits{})
	var req protocol.Request
	if err := client.Read(&req); err != nil {
		panic(err)
	}
	// The router (a toy one here) picks each key's server.
	serverOf := func(key []byte) int { return int(key[0]-'a') % 2 }
	var keys [2][][]byte
	for _, k := range req.Keys {
		s := serverOf(k)
		keys[s] = append(keys[s], k)
	}
	// What the two servers answer: hits in the order asked, misses left out.
	answers := [2]string{
		"VALUE a 0 1\r\n1\r\nVALUE c 0 1\r\n3\r\nVALUE a 0 1\r\n1\r\nEND\r\n",
		"VALUE d 0 1\r\n4\r\nEND\r\n",
	}
	type item struct {
		key string
		raw []byte // the VALUE line and data block, as the server sent them
	}
	var items [2][]item
	for s := range keys {
		fmt.Printf("to server %d: %q\n", s, protocol.AppendGet(nil, req.Command, req.Exptime, keys[s]))
		server := protocol.NewResponseReader(bufio.NewReader(strings.NewReader(answers[s])), protocol.Limits{})
		var resp protocol.Response
		for {
			if err := server.Read(&resp); err != nil {
				panic(err) // close this server connection; its requests get SERVER_ERROR
			}
			done, ok := resp.Ends(req.Command)
			if !ok {
				panic("out of sync") // likewise
			}
			if resp.Status == protocol.StatusValue {
				items[s] = append(items[s], item{string(resp.Key), protocol.AppendResponse(nil, &resp)})
			}
			if done {
				break
			}
		}
	}
	// Merge: walk the client's keys; each server's next item is either this
	// key's hit or a later key's.
	var out []byte
	var next [2]int
	for _, k := range req.Keys {
		s := serverOf(k)
		if next[s] < len(items[s]) && items[s][next[s]].key == string(k) {
			out = append(out, items[s][next[s]].raw...)
			next[s]++
		}
	}
	out = append(out, protocol.ReplyEnd...)
	fmt.Printf("to client: %q\n", out)
	// Output:
	// to server 0: "get a c a\r\n"
	// to server 1: "get b d\r\n"
	// to client: "VALUE a 0 1\r\n1\r\nVALUE c 0 1\r\n3\r\nVALUE d 0 1\r\n4\r\nVALUE a 0 1\r\n1\r\nEND\r\n"
}

// Pipelined requests to one server: forwarded in one write with withReply,
// so each gets exactly one response unit, and answered in order; what noreply
// and q hide is dropped by the proxy.
func ExampleAppendRequest() {
	in := "set a 0 0 1 noreply\r\nx\r\nset b 0 0 1\r\ny\r\nmg c v q\r\nmg a v q\r\nmn\r\n"
	client := protocol.NewRequestReader(bufio.NewReader(strings.NewReader(in)), protocol.Limits{})
	var (
		batch []byte
		reqs  []*protocol.Request // one each: keys and data alias the Request
	)
	for {
		req := new(protocol.Request)
		if err := client.Read(req); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			panic(err)
		}
		if !req.Command.Local() {
			batch = protocol.AppendRequest(batch, req, true)
		}
		reqs = append(reqs, req)
	}
	fmt.Printf("to server: %q\n", batch)

	server := protocol.NewResponseReader(bufio.NewReader(strings.NewReader("STORED\r\nSTORED\r\nEN\r\nVA 1\r\nx\r\n")), protocol.Limits{})
	var out []byte
	var resp protocol.Response
	for _, req := range reqs {
		if req.Command == protocol.CmdMetaNoop {
			out = append(out, protocol.ReplyMetaNoop...) // everything before it is out
			continue
		}
		for done := false; !done; {
			if err := server.Read(&resp); err != nil {
				panic(err)
			}
			var ok bool
			if done, ok = resp.Ends(req.Command); !ok {
				panic("out of sync")
			}
			if !req.NoReply && !(req.Quiet && resp.HiddenByQuiet(req.Command)) {
				out = protocol.AppendResponse(out, &resp)
			}
		}
	}
	fmt.Printf("to client: %q\n", out)
	// Output:
	// to server: "set a 0 0 1\r\nx\r\nset b 0 0 1\r\ny\r\nmg c v\r\nmg a v\r\n"
	// to client: "STORED\r\nVA 1\r\nx\r\nMN\r\n"
}
