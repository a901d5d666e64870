package redact

import (
	"net/url"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://ghp_token123@github.com/org/repo":      "https://xxxxx@github.com/org/repo",
		"https://user:s3cret@host/hook?x=1":             "https://xxxxx@host/hook?x=1",
		"https://host/path":                             "https://host/path",
		"ssh://git@host:22/repo.git":                    "ssh://xxxxx@host:22/repo.git",
		"http://TOKEN:x-oauth-basic@example.com:8080/p": "http://xxxxx@example.com:8080/p",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		got := URL(u)
		if got != want || strings.Contains(got, "s3cret") || strings.Contains(got, "token") {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
