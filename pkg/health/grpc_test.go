package health

import (
	"context"
	"encoding/binary"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// startGRPC runs a real gRPC server with the standard health service: what
// the hand-written client must interoperate with.
func startGRPC(t *testing.T) (addr string, hs *grpchealth.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs = grpchealth.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return ln.Addr().String(), hs
}

func grpcProbe(t *testing.T, target string) error {
	t.Helper()
	p, err := newProber(target, "")
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	return p.probe(ctx)
}

func TestGRPCAgainstRealServer(t *testing.T) {
	addr, hs := startGRPC(t)
	hs.SetServingStatus("app.Ready", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("app.Down", healthpb.HealthCheckResponse_NOT_SERVING)
	for _, tc := range []struct {
		target string
		err    string // "" healthy
	}{
		{"grpc://" + addr, ""}, // the server as a whole: SERVING by default
		{"grpc://" + addr + "/app.Ready", ""},
		{"grpc://" + addr + "/app.Down", "NOT_SERVING"},
		{"grpc://" + addr + "/app.Nope", "NOT_FOUND (unknown service)"},
	} {
		err := grpcProbe(t, tc.target)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("probe %s = %v, want %q", tc.target, err, tc.err)
		}
	}
	hs.Shutdown() // every service NOT_SERVING, as a server does while stopping
	if err := grpcProbe(t, "grpc://"+addr+"/app.Ready"); err == nil || !strings.Contains(err.Error(), "NOT_SERVING") {
		t.Errorf("after Shutdown: %v, want NOT_SERVING", err)
	}
}

func TestGRPCWithoutHealthServiceOrServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bare := grpc.NewServer() // no health service registered
	done := make(chan struct{})
	go func() { defer close(done); _ = bare.Serve(ln) }()
	defer func() { bare.Stop(); <-done }()
	if err := grpcProbe(t, "grpc://"+ln.Addr().String()); err == nil || !strings.Contains(err.Error(), "UNIMPLEMENTED") {
		t.Errorf("server without health service: %v, want UNIMPLEMENTED", err)
	}

	web := httptest.NewServer(http.NotFoundHandler()) // HTTP/1 only
	defer web.Close()
	if err := grpcProbe(t, "grpc://"+strings.TrimPrefix(web.URL, "http://")); err == nil {
		t.Error("an HTTP/1 server probed healthy")
	}
	if err := grpcProbe(t, "grpc://127.0.0.1:1"); err == nil {
		t.Error("a closed port probed healthy")
	}
}

// h2cServer answers every gRPC call with h: for answers a real server would
// never give.
func h2cServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return "grpc://" + strings.TrimPrefix(srv.URL, "http://")
}

func TestGRPCMalformedAnswers(t *testing.T) {
	good := frame(healthMsg(1))
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
		err  string
	}{
		{"ok", grpcAnswer(good, "0"), ""},
		{"http 500", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }, "HTTP 500"},
		{"not grpc", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("hello")) }, "content-type"},
		{"no trailers", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/grpc")
			w.Write(good)
		}, "no grpc-status"},
		{"huge body", grpcAnswer(make([]byte, 1<<20), "0"), "over 4096 bytes"},
		{"error status", grpcAnswer(nil, "14"), "UNAVAILABLE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := grpcProbe(t, h2cServer(t, tc.h))
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("probe = %v, want %q", err, tc.err)
			}
		})
	}
}

func grpcAnswer(body []byte, status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != grpcCheckPath || r.Header.Get("Content-Type") != "application/grpc" || r.ProtoMajor != 2 {
			w.WriteHeader(400)
			return
		}
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status")
		w.Write(body)
		w.Header().Set("Grpc-Status", status)
	}
}

func healthMsg(status uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), status)
}

func frame(msg []byte) []byte {
	b := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(b[1:], uint32(len(msg)))
	return append(b, msg...)
}

func TestEncodeHealthRequest(t *testing.T) {
	if got := encodeHealthRequest(""); string(got) != "\x00\x00\x00\x00\x00" {
		t.Errorf("empty service: %q", got)
	}
	if got := encodeHealthRequest("a.B"); string(got) != "\x00\x00\x00\x00\x05\x0a\x03a.B" {
		t.Errorf("service a.B: %q", got)
	}
}

var healthResponseTests = []struct {
	name    string
	body    []byte
	status  string
	message string
	err     string // "" healthy
}{
	{"serving", frame(healthMsg(1)), "0", "", ""},
	{"serving with unknown fields", frame(append(append(protowire.AppendString(protowire.AppendTag(nil, 9, protowire.BytesType), "x"), healthMsg(1)...),
		protowire.AppendFixed32(protowire.AppendTag(nil, 3, protowire.Fixed32Type), 7)...)), "0", "", ""},
	{"last status wins", frame(append(healthMsg(2), healthMsg(1)...)), "0", "", ""},
	{"not serving", frame(healthMsg(2)), "0", "", "NOT_SERVING"},
	{"service unknown", frame(healthMsg(3)), "0", "", "SERVICE_UNKNOWN"},
	{"empty message is UNKNOWN", frame(nil), "0", "", "UNKNOWN"},
	{"future status", frame(healthMsg(42)), "0", "", "status 42"},
	{"no message", nil, "0", "", "without a response message"},
	{"short prefix", []byte{0, 0, 0}, "0", "", "without a response message"},
	{"compressed", append([]byte{1}, frame(healthMsg(1))[1:]...), "0", "", "compressed"},
	{"length too long", []byte{0, 0, 0, 0, 9, 8, 1}, "0", "", "message length 9, but 2 bytes follow"},
	{"length huge", []byte{0, 0xff, 0xff, 0xff, 0xff}, "0", "", "message length 4294967295"},
	{"two messages", append(frame(healthMsg(1)), frame(healthMsg(1))...), "0", "", "but 9 bytes follow"},
	{"truncated varint", frame([]byte{0x08, 0x80}), "0", "", "malformed HealthCheckResponse"},
	{"bad wire type", frame([]byte{0x0f}), "0", "", "malformed"},
	{"truncated bytes field", frame([]byte{0x12, 0x05, 'a'}), "0", "", "malformed HealthCheckResponse field 2"},
	{"field zero", frame([]byte{0x00, 0x01}), "0", "", "malformed"},
	{"no status", frame(healthMsg(1)), "", "", "no grpc-status"},
	{"status not a number", frame(healthMsg(1)), "zero", "", `malformed grpc-status "zero"`},
	{"negative status", nil, "-1", "", "malformed grpc-status"},
	{"unavailable with message", nil, "14", "connection%20refused%0A%00", "UNAVAILABLE: connection refused"},
	{"unknown code", nil, "99", "", "code 99"},
	{"bad percent-encoding kept", nil, "2", "50%zz", "UNKNOWN: 50%zz"},
	{"long message cut", nil, "13", strings.Repeat("x", 5000), "INTERNAL: " + strings.Repeat("x", grpcMsgLimit) + "…"},
}

func TestParseHealthResponse(t *testing.T) {
	for _, tc := range healthResponseTests {
		t.Run(tc.name, func(t *testing.T) {
			err := parseHealthResponse(tc.body, tc.status, tc.message)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("parseHealthResponse = %v, want %q", err, tc.err)
			}
		})
	}
}

// FuzzParseHealthResponse: malformed answers are errors, never panics, and
// only grpc-status 0 with a SERVING message is healthy.
func FuzzParseHealthResponse(f *testing.F) {
	for _, tc := range healthResponseTests {
		f.Add(tc.body, tc.status, tc.message)
	}
	f.Fuzz(func(t *testing.T, body []byte, status, message string) {
		err := parseHealthResponse(body, status, message)
		if err == nil {
			if status != "0" || len(body) < 6 || body[0] != 0 {
				t.Fatalf("healthy verdict for status %q body %x", status, body)
			}
			if s, derr := decodeHealthResponse(body[5:]); derr != nil || s != statusServing {
				t.Fatalf("healthy verdict for a message that decodes to %d, %v", s, derr)
			}
			return
		}
		if len(err.Error()) > 2*grpcMsgLimit+100 {
			t.Fatalf("error of %d bytes: unbounded", len(err.Error()))
		}
	})
}
