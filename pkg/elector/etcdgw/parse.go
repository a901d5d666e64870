package etcdgw

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// The gateway's JSON is protobuf's JSON mapping: bytes in base64 (a []byte
// field in encoding/json), int64s as strings (jint), default values
// omitted (so a missing field is its zero value).

// jint is an int64 written as a JSON string ("5") or, leniently, a number.
type jint int64

func (j *jint) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("bad integer %q", truncate([]byte(s)))
	}
	*j = jint(v)
	return nil
}

// Requests. Fields with omitempty are ones etcd's defaults cover.

type authRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

type rangeRequest struct {
	Key      []byte `json:"key"`
	RangeEnd []byte `json:"range_end,omitempty"`
}

type putRequest struct {
	Key   []byte `json:"key"`
	Value []byte `json:"value"`
	Lease int64  `json:"lease,omitempty,string"`
}

type deleteRequest struct {
	Key []byte `json:"key"`
}

type compare struct {
	Key            []byte `json:"key"`
	Target         string `json:"target"`
	Result         string `json:"result"`
	CreateRevision int64  `json:"create_revision,string"`
}

type requestOp struct {
	RequestRange       *rangeRequest  `json:"request_range,omitempty"`
	RequestPut         *putRequest    `json:"request_put,omitempty"`
	RequestDeleteRange *deleteRequest `json:"request_delete_range,omitempty"`
}

type txnRequest struct {
	Compare []compare   `json:"compare"`
	Success []requestOp `json:"success"`
	Failure []requestOp `json:"failure"`
}

type compactRequest struct {
	Revision int64 `json:"revision,string"`
	Physical bool  `json:"physical"`
}

type leaseRequest struct {
	TTL int64 `json:"TTL,omitempty,string"`
	ID  int64 `json:"ID,string"`
}

type watchCreate struct {
	Key           []byte `json:"key"`
	RangeEnd      []byte `json:"range_end,omitempty"`
	StartRevision int64  `json:"start_revision,omitempty,string"`
	PrevKV        bool   `json:"prev_kv,omitempty"`
}

type watchRequest struct {
	CreateRequest watchCreate `json:"create_request"`
}

// Responses.

type header struct {
	Revision jint `json:"revision"`
}

type kvJSON struct {
	Key            []byte `json:"key"`
	CreateRevision jint   `json:"create_revision"`
	ModRevision    jint   `json:"mod_revision"`
	Version        jint   `json:"version"`
	Value          []byte `json:"value"`
	Lease          jint   `json:"lease"`
}

func (k *kvJSON) kv() KV {
	return KV{
		Key: string(k.Key), Value: string(k.Value),
		CreateRevision: int64(k.CreateRevision), ModRevision: int64(k.ModRevision),
		Version: int64(k.Version), Lease: LeaseID(k.Lease),
	}
}

type rangeResponse struct {
	Header header   `json:"header"`
	KVs    []kvJSON `json:"kvs"`
}

type putResponse struct {
	Header header `json:"header"`
}

type deleteResponse struct {
	Header  header `json:"header"`
	Deleted jint   `json:"deleted"`
}

type txnResponse struct {
	Header    header `json:"header"`
	Succeeded bool   `json:"succeeded"`
	Responses []struct {
		ResponseRange *rangeResponse `json:"response_range"`
	} `json:"responses"`
}

type grantResponse struct {
	Header header `json:"header"`
	ID     jint   `json:"ID"`
	TTL    jint   `json:"TTL"`
	Error  string `json:"error"`
}

type keepAliveResult struct {
	ID  jint `json:"ID"`
	TTL jint `json:"TTL"`
}

type eventJSON struct {
	Type   eventType `json:"type"`
	KV     *kvJSON   `json:"kv"`
	PrevKV *kvJSON   `json:"prev_kv"`
}

type eventType EventType

func (t *eventType) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"PUT"`, `0`, `null`:
		*t = eventType(EventPut)
	case `"DELETE"`, `1`:
		*t = eventType(EventDelete)
	default:
		return fmt.Errorf("unknown event type %s", truncate(b))
	}
	return nil
}

type watchResult struct {
	Header          header      `json:"header"`
	WatchID         jint        `json:"watch_id"`
	Created         bool        `json:"created"`
	Canceled        bool        `json:"canceled"`
	CancelReason    string      `json:"cancel_reason"`
	CompactRevision jint        `json:"compact_revision"`
	Events          []eventJSON `json:"events"`
}

// decodeStrict decodes a JSON object into v; trailing data is an error.
func decodeStrict(raw []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("bad response: %w", err)
	}
	if d.More() {
		return errors.New("bad response: data after the JSON object")
	}
	return nil
}

// decodeStreamMessage decodes a message of a streaming endpoint
// (/v3/watch, /v3/lease/keepalive): {"result":{...}} or {"error":{...}}.
func decodeStreamMessage(raw []byte, result any) error {
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := decodeStrict(raw, &env); err != nil {
		return err
	}
	if len(env.Error) > 0 && string(env.Error) != "null" {
		return streamError(env.Error)
	}
	if len(env.Result) == 0 || string(env.Result) == "null" {
		return errors.New("bad response: no result")
	}
	return decodeStrict(env.Result, result)
}

// errorJSON is an error answer: etcd 3.4 (grpc-gateway v1) sends
// {"error":"msg","message":"msg","code":3}, 3.5+ (v2) {"code":3,
// "message":"msg"}; in a stream, v1 nests {"error":{"grpc_code":3,
// "http_code":400,"message":"msg"}} and v2 {"error":{"code":3,...}}.
type errorJSON struct {
	Error    json.RawMessage `json:"error"`
	Code     jint            `json:"code"`
	GRPCCode jint            `json:"grpc_code"`
	Message  string          `json:"message"`
}

// parseError makes an *Error of a non-200 answer; a body that is no
// error object still gives one (code 2, Unknown), never a panic.
func parseError(status int, raw []byte) *Error {
	e := &Error{HTTPStatus: status, Code: 2}
	var ej errorJSON
	if err := decodeStrict(raw, &ej); err != nil {
		e.Message = fmt.Sprintf("HTTP %d: %q", status, truncate(raw))
		return e
	}
	if len(ej.Error) > 0 && ej.Error[0] == '{' {
		if inner := streamError(ej.Error); inner != nil {
			inner.HTTPStatus = status
			return inner
		}
	}
	if ej.Code != 0 {
		e.Code = int(ej.Code)
	} else if ej.GRPCCode != 0 {
		e.Code = int(ej.GRPCCode)
	}
	e.Message = ej.Message
	if e.Message == "" && len(ej.Error) > 0 && ej.Error[0] == '"' {
		_ = json.Unmarshal(ej.Error, &e.Message)
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("HTTP %d: %q", status, truncate(raw))
	}
	return e
}

// streamError decodes the error object of a stream message.
func streamError(raw []byte) *Error {
	var ej errorJSON
	if err := decodeStrict(raw, &ej); err != nil {
		return &Error{Code: 2, Message: fmt.Sprintf("bad error object %q", truncate(raw))}
	}
	e := &Error{Code: 2, Message: ej.Message}
	if ej.GRPCCode != 0 {
		e.Code = int(ej.GRPCCode)
	} else if ej.Code != 0 {
		e.Code = int(ej.Code)
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("error %q", truncate(raw))
	}
	return e
}

// decodeAuthResponse returns the token of /v3/auth/authenticate.
func decodeAuthResponse(raw []byte) (string, error) {
	var r struct {
		Token string `json:"token"`
	}
	if err := decodeStrict(raw, &r); err != nil {
		return "", err
	}
	if r.Token == "" {
		return "", errors.New("bad response: no token (is auth enabled?)")
	}
	return r.Token, nil
}

// decodeTxn interprets the answer of CreateIfAbsent's transaction: whether
// it succeeded, the key's holder when it did not, and the header revision.
func decodeTxn(raw []byte) (succeeded bool, holder *KV, rev int64, err error) {
	var r txnResponse
	if err := decodeStrict(raw, &r); err != nil {
		return false, nil, 0, err
	}
	rev = int64(r.Header.Revision)
	if r.Succeeded {
		return true, nil, rev, nil
	}
	if len(r.Responses) == 1 && r.Responses[0].ResponseRange != nil {
		if kvs := r.Responses[0].ResponseRange.KVs; len(kvs) > 0 {
			kv := kvs[0].kv()
			return false, &kv, rev, nil
		}
	}
	return false, nil, rev, nil
}

// decodeWatch decodes one watch stream message.
func decodeWatch(raw []byte) (watchResult, error) {
	var r watchResult
	if err := decodeStreamMessage(raw, &r); err != nil {
		return watchResult{}, err
	}
	for i, ev := range r.Events {
		if ev.KV == nil {
			return watchResult{}, fmt.Errorf("bad response: event %d has no kv", i)
		}
	}
	return r, nil
}

func (r *watchResult) response() WatchResponse {
	w := WatchResponse{Revision: int64(r.Header.Revision), Events: make([]Event, 0, len(r.Events))}
	for _, ev := range r.Events {
		e := Event{Type: EventType(ev.Type), KV: ev.KV.kv()}
		if ev.PrevKV != nil {
			p := ev.PrevKV.kv()
			e.PrevKV = &p
		}
		w.Events = append(w.Events, e)
	}
	return w
}

// truncate keeps error messages short and valid UTF-8.
func truncate(b []byte) string {
	const max = 128
	if len(b) > max {
		b = b[:max]
	}
	return string(bytes.ToValidUTF8(b, []byte(string(utf8.RuneError))))
}
