package etcdgw

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // substring of the error; "" means valid
	}{
		{"ok", Config{Endpoints: []string{"http://127.0.0.1:2379", "https://etcd:2379/"}}, ""},
		{"no endpoints", Config{}, "Endpoints: required"},
		{"scheme", Config{Endpoints: []string{"unix:///x"}}, `Endpoints[0]: scheme must be http or https (got "unix")`},
		{"no scheme", Config{Endpoints: []string{"127.0.0.1:2379"}}, "Endpoints[0]:"},
		{"userinfo", Config{Endpoints: []string{"http://u:hunter2@h:1"}}, "Endpoints[0]: http://u:xxxxx@h:1: credentials belong in Username and Password"},
		{"path", Config{Endpoints: []string{"http://h:1/v3"}}, "want scheme://host:port only"},
		{"no host", Config{Endpoints: []string{"http://"}}, "no host"},
		{"password alone", Config{Endpoints: []string{"http://h:1"}, Password: "p"}, "Password: set without Username"},
		{"tls and client", Config{Endpoints: []string{"http://h:1"}, TLS: &tls.Config{}, HTTPClient: &http.Client{}}, "TLS:"},
		{"client timeout", Config{Endpoints: []string{"http://h:1"}, HTTPClient: &http.Client{Timeout: time.Second}}, "HTTPClient: Timeout must be 0"},
		{"timeout", Config{Endpoints: []string{"http://h:1"}, RequestTimeout: -1}, "RequestTimeout: must be >= 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}

func TestSecretRedacted(t *testing.T) {
	cfg := Config{Endpoints: []string{"http://h:1"}, Username: "u", Password: "hunter2"}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("cfg", "password", cfg.Password, "cfg", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%s", cfg.Password), logged.String()} {
		if strings.Contains(s, "hunter2") || !strings.Contains(s, "REDACTED") {
			t.Errorf("password shown: %s", s)
		}
	}
}

func TestPrefixRange(t *testing.T) {
	for _, tc := range []struct{ prefix, key, end string }{
		{"/e/", "/e/", "/e0"},
		{"a\xff", "a\xff", "b"},
		{"\xff\xff", "\xff\xff", "\x00"},
		{"", "\x00", "\x00"},
	} {
		k, e := prefixRange(tc.prefix)
		if string(k) != tc.key || string(e) != tc.end {
			t.Errorf("prefixRange(%q) = %q, %q; want %q, %q", tc.prefix, k, e, tc.key, tc.end)
		}
	}
}
