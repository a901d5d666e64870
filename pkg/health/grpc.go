package health

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// The grpc.health.v1 Check call, spoken over net/http's unencrypted HTTP/2
// (prior knowledge, as gRPC does) with a hand-encoded message: linking
// google.golang.org/grpc would cost every podkit process its init() work,
// binary size and memory, for one unary call with one-field messages.
// protowire is already in the binary through the Prometheus client.
const (
	grpcCheckPath  = "/grpc.health.v1.Health/Check"
	grpcBodyLimit  = 4 << 10 // a HealthCheckResponse is 2 bytes; anything big is not one
	grpcMsgLimit   = 200     // of grpc-message kept in the error
	grpcServiceMax = 256
)

// grpc.health.v1.HealthCheckResponse.ServingStatus.
var servingStatusNames = map[uint64]string{0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}

const statusServing = 1

// Common gRPC status codes, to make errors readable.
var grpcCodeNames = map[int]string{
	1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
	7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 12: "UNIMPLEMENTED", 13: "INTERNAL",
	14: "UNAVAILABLE", 16: "UNAUTHENTICATED",
}

type grpcProber struct {
	url    string
	shown  string
	req    []byte // the framed HealthCheckRequest, built once
	client *http.Client
}

func newGRPCProber(u *url.URL) (prober, error) {
	const want = "grpc://host:port[/service]"
	if err := checkHostPort(u, want); err != nil {
		return prober{}, err
	}
	service := strings.TrimPrefix(u.Path, "/")
	if strings.Contains(service, "/") || len(service) > grpcServiceMax {
		return prober{}, fmt.Errorf("%w: %s: want %s", ErrBadTarget, origin(u), want)
	}
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	p := &grpcProber{
		url:   "http://" + u.Host + grpcCheckPath,
		shown: u.Redacted(),
		req:   encodeHealthRequest(service),
		client: &http.Client{
			Transport: &http.Transport{
				Protocols: &protos,
				// One connection per probe, as the kubelet's gRPC probe does.
				DisableKeepAlives: true,
				Proxy:             nil,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	return prober{probe: p.probe, close: p.client.CloseIdleConnections}, nil
}

// encodeHealthRequest frames HealthCheckRequest{service = 1}: a 5-byte
// prefix (uncompressed flag, big-endian length), then the message.
func encodeHealthRequest(service string) []byte {
	var msg []byte
	if service != "" {
		msg = protowire.AppendTag(msg, 1, protowire.BytesType)
		msg = protowire.AppendString(msg, service)
	}
	b := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(b[1:], uint32(len(msg)))
	return append(b, msg...)
}

func (p *grpcProber) probe(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(p.req))
	if err != nil {
		return fmt.Errorf("%s: %w", p.shown, err)
	}
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	req.Header.Set("User-Agent", "podkit-probe")
	resp, err := p.client.Do(req)
	if err != nil {
		return redactURLError(err, p.shown)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d, not a gRPC answer", p.shown, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/grpc") {
		return fmt.Errorf("%s: content-type %q, not a gRPC answer", p.shown, truncate(ct, 60))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, grpcBodyLimit+1))
	if err != nil {
		return fmt.Errorf("%s: read: %w", p.shown, err)
	}
	if len(body) > grpcBodyLimit {
		return fmt.Errorf("%s: response over %d bytes", p.shown, grpcBodyLimit)
	}
	// A Trailers-Only answer (an error with no message) carries the status
	// in the headers.
	status, msg := resp.Trailer.Get("Grpc-Status"), resp.Trailer.Get("Grpc-Message")
	if status == "" {
		status, msg = resp.Header.Get("Grpc-Status"), resp.Header.Get("Grpc-Message")
	}
	if err := parseHealthResponse(body, status, msg); err != nil {
		return fmt.Errorf("%s: %w", p.shown, err)
	}
	return nil
}

// parseHealthResponse decides a Check call from its body (length-prefixed
// messages) and its grpc-status and grpc-message: nil only for exactly one
// uncompressed HealthCheckResponse with status SERVING and grpc-status 0.
// Malformed input is an error, never a panic (FuzzParseHealthResponse).
func parseHealthResponse(body []byte, grpcStatus, grpcMessage string) error {
	switch {
	case grpcStatus == "":
		return fmt.Errorf("no grpc-status: stream cut short")
	case grpcStatus != "0":
		code, err := strconv.Atoi(grpcStatus)
		if err != nil || code < 0 || code > 999 {
			return fmt.Errorf("malformed grpc-status %q", truncate(grpcStatus, 20))
		}
		name := grpcCodeNames[code]
		if name == "" {
			name = "code " + strconv.Itoa(code)
		}
		switch code {
		case 5:
			name += " (unknown service)"
		case 12:
			name += " (no grpc.health.v1 service)"
		}
		if m := decodeGRPCMessage(grpcMessage); m != "" {
			return fmt.Errorf("gRPC %s: %s", name, m)
		}
		return fmt.Errorf("gRPC %s", name)
	}
	if len(body) < 5 {
		return fmt.Errorf("gRPC OK without a response message (%d bytes)", len(body))
	}
	if body[0] != 0 {
		return fmt.Errorf("compressed or unknown message flag %#x: no compression was offered", body[0])
	}
	n := binary.BigEndian.Uint32(body[1:5])
	if uint64(n) != uint64(len(body)-5) {
		return fmt.Errorf("message length %d, but %d bytes follow", n, len(body)-5)
	}
	status, err := decodeHealthResponse(body[5:])
	if err != nil {
		return err
	}
	if status != statusServing {
		name, ok := servingStatusNames[status]
		if !ok {
			name = "status " + strconv.FormatUint(status, 10)
		}
		return fmt.Errorf("%s", name)
	}
	return nil
}

// decodeHealthResponse reads HealthCheckResponse{status = 1 (enum)}; unknown
// fields are skipped as protobuf requires, a missing status is UNKNOWN (0).
func decodeHealthResponse(b []byte) (uint64, error) {
	var status uint64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, fmt.Errorf("malformed HealthCheckResponse: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if num == 1 && typ == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, fmt.Errorf("malformed HealthCheckResponse status: %v", protowire.ParseError(n))
			}
			status, b = v, b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, fmt.Errorf("malformed HealthCheckResponse field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return status, nil
}

// decodeGRPCMessage undoes grpc-message's percent-encoding and keeps it short
// and printable: it ends up in logs and /checks.
func decodeGRPCMessage(m string) string {
	if s, err := url.PathUnescape(m); err == nil {
		m = s
	}
	m = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return -1
		}
		return r
	}, m)
	return truncate(m, grpcMsgLimit)
}
