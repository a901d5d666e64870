package supervisor

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

var parseHookTests = []struct {
	in      string
	argv    []string // exec
	url     string   // http(s): String()
	wantErr string   // "": ok
}{
	{in: ""},
	{in: "exec:true", argv: []string{"true"}},
	{in: "exec: /bin/flush  --now\t-v ", argv: []string{"/bin/flush", "--now", "-v"}},
	{in: "http://127.0.0.1:8080/flush", url: "http://127.0.0.1:8080/flush"},
	{in: "https://app:8443/pre-stop?x=1", url: "https://app:8443/pre-stop?xxxxx"},
	{in: "http://127.0.0.1/flush?token=hunter2", url: "http://127.0.0.1/flush?xxxxx"},
	{in: "http://user:hunter2@127.0.0.1/", url: "http://user:xxxxx@127.0.0.1/"},
	{in: "exec:", wantErr: "want exec:COMMAND ARGS..."},
	{in: "exec:   ", wantErr: "want exec:COMMAND ARGS..."},
	{in: "sh -c flush", wantErr: "want exec:COMMAND ARGS... or an http:// or https:// URL"},
	{in: "ftp://host/", wantErr: "want exec:COMMAND ARGS... or an http:// or https:// URL"},
	{in: "HTTP://host/", wantErr: "want exec:COMMAND ARGS... or an http:// or https:// URL"},
	{in: "http://", wantErr: "URL has no host"},
	{in: "http:///path", wantErr: "URL has no host"},
	{in: "http://host:port/", wantErr: "not a valid URL"},
	{in: "http://user:hunter2@host:x/", wantErr: "not a valid URL"},
}

func TestParseHook(t *testing.T) {
	for _, tc := range parseHookTests {
		h, err := ParseHook(tc.in)
		switch {
		case tc.wantErr != "":
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("ParseHook(%q) = %+v, %v; want error %q", tc.in, h, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("ParseHook(%q): error shows the password", tc.in)
			}
		case err != nil:
			t.Errorf("ParseHook(%q): %v", tc.in, err)
		case tc.argv == nil && tc.url == "":
			if !h.IsZero() || h.String() != "" {
				t.Errorf("ParseHook(%q) = %+v, want no hook", tc.in, h)
			}
		case tc.argv != nil:
			if !slices.Equal(h.Argv, tc.argv) || h.URL != nil || h.IsZero() {
				t.Errorf("ParseHook(%q) = %+v, want argv %q", tc.in, h, tc.argv)
			}
		default:
			if h.URL == nil || h.String() != tc.url || h.Argv != nil {
				t.Errorf("ParseHook(%q) = %+v (%s), want %s", tc.in, h, h, tc.url)
			}
		}
	}
}

func TestHookValidate(t *testing.T) {
	u, _ := ParseHook("http://h/")
	if err := (Hook{Argv: []string{"x"}, URL: u.URL}).validate(); err == nil {
		t.Errorf("a hook with a command and a URL validated")
	}
	if _, err := New(Config{Argv: []string{"app"}, PreStop: Hook{Argv: []string{"x"}, URL: u.URL}}); err == nil || !strings.HasPrefix(err.Error(), "pre-stop: ") {
		t.Errorf("New with a bad pre-stop hook = %v", err)
	}
}

func FuzzParseHook(f *testing.F) {
	for _, tc := range parseHookTests {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 { // flag values; url.Parse is linear anyway
			return
		}
		h, err := ParseHook(s)
		if err != nil {
			if len(err.Error()) > 128 { // the messages are fixed: none quotes the input
				t.Errorf("error of %d bytes quotes the input: %q", len(err.Error()), err)
			}
			return
		}
		if h.IsZero() != (s == "") {
			t.Fatalf("ParseHook(%q) = %+v: zero %v", s, h, h.IsZero())
		}
		if err := h.validate(); err != nil {
			t.Fatalf("ParseHook(%q) = %+v, which does not validate: %v", s, h, err)
		}
		switch {
		case h.URL != nil:
			if pw, ok := h.URL.User.Password(); ok && pw != "" && pw != "xxxxx" && strings.Contains(h.String(), ":"+pw+"@") {
				t.Errorf("String() %q shows the password", h.String())
			}
		case len(h.Argv) > 0:
			again, err := ParseHook(h.String())
			if err != nil || !slices.Equal(again.Argv, h.Argv) {
				t.Fatalf("ParseHook(%q) = %q, but its String %q parses as %q, %v", s, h.Argv, h.String(), again.Argv, err)
			}
		}
	})
}

// HTTP hooks follow the kubelet: a self-signed certificate is fine, a 3xx is
// success (not followed), a 4xx or 5xx a failure, and the password in the URL
// never shows in the error.
func TestPostHook(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Method != http.MethodPost || r.Header.Get("X-Podkit-Hook") != hookPreStop {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/ok":
		case "/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	s, err := New(Config{Argv: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	u := strings.Replace(srv.URL, "https://", "https://user:hunter2@", 1)
	for path, wantErr := range map[string]string{"/ok": "", "/moved": "", "/fail": "500 Internal Server Error"} {
		h, err := ParseHook(u + path)
		if err != nil {
			t.Fatal(err)
		}
		r := s.runHook(t.Context(), hookPreStop, 1, h)
		switch {
		case wantErr == "" && r.err != nil:
			t.Errorf("%s: %v", path, r.err)
		case wantErr != "" && (r.err == nil || !strings.Contains(r.err.Error(), wantErr)):
			t.Errorf("%s: error %v, want %q", path, r.err, wantErr)
		case r.err != nil && strings.Contains(r.err.Error(), "hunter2"):
			t.Errorf("%s: error shows the password: %v", path, r.err)
		}
	}
	if n := hits.Load(); n != 3 {
		t.Errorf("server saw %d requests, want 3 (no redirect followed)", n)
	}
}
