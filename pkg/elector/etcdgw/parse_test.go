package etcdgw

import (
	"errors"
	"reflect"
	"testing"
)

// Answers as etcd 3.4 (grpc-gateway v1) and 3.7 (v2) send them.
var watchMessages = []struct {
	name string
	raw  string
	want *watchResult // nil: an error
}{
	{"created", `{"result":{"header":{"cluster_id":"32","member_id":"33","revision":"4","raft_term":"2"},"created":true}}`,
		&watchResult{Header: header{Revision: 4}, Created: true}},
	{"put and delete", `{"result":{"header":{"revision":"6"},"watch_id":"1","events":[{"kv":{"key":"L3AvYQ==","create_revision":"5","mod_revision":"5","version":"1","value":"MQ==","lease":"77"}},{"type":"DELETE","kv":{"key":"L3AvYQ==","mod_revision":"6"},"prev_kv":{"key":"L3AvYQ==","create_revision":"5","mod_revision":"5","version":"1","value":"MQ=="}}]}}`,
		&watchResult{Header: header{Revision: 6}, WatchID: 1, Events: []eventJSON{
			{KV: &kvJSON{Key: []byte("/p/a"), CreateRevision: 5, ModRevision: 5, Version: 1, Value: []byte("1"), Lease: 77}},
			{Type: eventType(EventDelete), KV: &kvJSON{Key: []byte("/p/a"), ModRevision: 6}, PrevKV: &kvJSON{Key: []byte("/p/a"), CreateRevision: 5, ModRevision: 5, Version: 1, Value: []byte("1")}},
		}}},
	{"numeric enum and ints", `{"result":{"header":{"revision":7},"events":[{"type":1,"kv":{"key":"YQ==","mod_revision":7}}]}}`,
		&watchResult{Header: header{Revision: 7}, Events: []eventJSON{{Type: eventType(EventDelete), KV: &kvJSON{Key: []byte("a"), ModRevision: 7}}}}},
	{"compacted", `{"result":{"header":{"cluster_id":"3","raft_term":"2"},"canceled":true,"compact_revision":"4"}}`,
		&watchResult{Canceled: true, CompactRevision: 4}},
	{"auth canceled", `{"result":{"header":{"revision":"5"},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"rpc error: code = Unauthenticated desc = etcdserver: invalid auth token"}}`,
		&watchResult{Header: header{Revision: 5}, WatchID: -1, Created: true, Canceled: true, CancelReason: "rpc error: code = Unauthenticated desc = etcdserver: invalid auth token"}},
	{"stream error v1", `{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}`, nil},
	{"stream error v2", `{"error":{"code":16,"message":"etcdserver: invalid auth token","details":[]}}`, nil},
	{"no result", `{}`, nil},
	{"null result", `{"result":null}`, nil},
	{"bad base64", `{"result":{"events":[{"kv":{"key":"!!"}}]}}`, nil},
	{"bad int", `{"result":{"header":{"revision":"x"}}}`, nil},
	{"int overflow", `{"result":{"header":{"revision":"99999999999999999999"}}}`, nil},
	{"event without kv", `{"result":{"events":[{"type":"PUT"}]}}`, nil},
	{"unknown event type", `{"result":{"events":[{"type":"MOVE","kv":{}}]}}`, nil},
	{"trailing", `{"result":{}} x`, nil},
	{"not json", `<html>`, nil},
	{"array", `[]`, nil},
}

func TestDecodeWatch(t *testing.T) {
	for _, tc := range watchMessages {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeWatch([]byte(tc.raw))
			if tc.want == nil {
				if err == nil {
					t.Fatalf("decodeWatch = %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, *tc.want) {
				t.Fatalf("decodeWatch =\n%+v\nwant\n%+v", got, *tc.want)
			}
		})
	}
}

func TestStreamErrorCodes(t *testing.T) {
	_, err := decodeWatch([]byte(watchMessages[5].raw))
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeUnavailable || e.Message != "etcdserver: no leader" {
		t.Fatalf("v1 stream error: %#v", err)
	}
	_, err = decodeWatch([]byte(watchMessages[6].raw))
	if !errors.As(err, &e) || e.Code != CodeUnauthenticated || !e.authExpired() {
		t.Fatalf("v2 stream error: %#v", err)
	}
}

var txnAnswers = []struct {
	name   string
	raw    string
	ok     bool
	holder *KV
	rev    int64
	bad    bool
}{
	{"won", `{"header":{"revision":"4"},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"4"}}}]}`, true, nil, 4, false},
	{"lost", `{"header":{"revision":"4"},"responses":[{"response_range":{"header":{"revision":"4"},"kvs":[{"key":"ZWw=","create_revision":"3","mod_revision":"3","version":"1","value":"YQ==","lease":"2324035698806026765"}],"count":"1"}}]}`,
		false, &KV{Key: "el", Value: "a", CreateRevision: 3, ModRevision: 3, Version: 1, Lease: 2324035698806026765}, 4, false},
	{"lost, no kvs", `{"header":{"revision":"4"},"responses":[{"response_range":{"header":{"revision":"4"}}}]}`, false, nil, 4, false},
	{"delete failed", `{"header":{"revision":"9"}}`, false, nil, 9, false},
	{"bad succeeded", `{"succeeded":"yes"}`, false, nil, 0, true},
	{"bad responses", `{"responses":{}}`, false, nil, 0, true},
	{"truncated", `{"header":{"revision":"4"`, false, nil, 0, true},
}

func TestDecodeTxn(t *testing.T) {
	for _, tc := range txnAnswers {
		t.Run(tc.name, func(t *testing.T) {
			ok, holder, rev, err := decodeTxn([]byte(tc.raw))
			if tc.bad {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil || ok != tc.ok || rev != tc.rev || !reflect.DeepEqual(holder, tc.holder) {
				t.Fatalf("decodeTxn = %v, %+v, %d, %v; want %v, %+v, %d", ok, holder, rev, err, tc.ok, tc.holder, tc.rev)
			}
		})
	}
}

var errorBodies = []struct {
	name    string
	status  int
	raw     string
	code    int
	message string
}{
	{"etcd 3.4", 404, `{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}`, 5, "etcdserver: requested lease not found"},
	{"etcd 3.7", 401, `{"code":16,"message":"etcdserver: invalid auth token","details":[]}`, 16, "etcdserver: invalid auth token"},
	{"error only", 400, `{"error":"bad thing"}`, 2, "bad thing"},
	{"nested", 503, `{"error":{"grpc_code":14,"message":"no leader"}}`, 14, "no leader"},
	{"string code", 400, `{"code":"3","message":"m"}`, 3, "m"},
	{"html", 502, `<html>bad gateway</html>`, 2, `HTTP 502: "<html>bad gateway</html>"`},
	{"empty", 500, ``, 2, `HTTP 500: ""`},
	{"empty object", 500, `{}`, 2, `HTTP 500: "{}"`},
}

func TestParseError(t *testing.T) {
	for _, tc := range errorBodies {
		t.Run(tc.name, func(t *testing.T) {
			e := parseError(tc.status, []byte(tc.raw))
			if e.Code != tc.code || e.Message != tc.message || e.HTTPStatus != tc.status {
				t.Fatalf("parseError = %+v, want code %d message %q", e, tc.code, tc.message)
			}
		})
	}
}

// Malformed answers give errors, never a panic.
func FuzzDecode(f *testing.F) {
	for _, tc := range watchMessages {
		f.Add([]byte(tc.raw))
	}
	for _, tc := range txnAnswers {
		f.Add([]byte(tc.raw))
	}
	for _, tc := range errorBodies {
		f.Add([]byte(tc.raw))
	}
	f.Add([]byte(`{"result":{"ID":"1","TTL":"5"}}`))
	f.Add([]byte(`{"token":"abc.1"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if r, err := decodeWatch(raw); err == nil {
			w := r.response()
			if len(w.Events) != len(r.Events) {
				t.Fatalf("%d events of %d", len(w.Events), len(r.Events))
			}
		}
		_, _, _, _ = decodeTxn(raw)
		if e := parseError(500, raw); e == nil || e.Message == "" {
			t.Fatalf("parseError(%q) = %+v", raw, e)
		}
		var ka keepAliveResult
		_ = decodeStreamMessage(raw, &ka)
		_, _ = decodeAuthResponse(raw)
	})
}
