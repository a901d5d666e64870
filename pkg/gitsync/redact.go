package gitsync

import (
	"net/url"
	"strings"

	"github.com/podkit/podkit/internal/redact"
)

// scrub removes credentials from s: repo written out (its userinfo
// replaced) and the password itself, wherever a library put them in an
// error.
func scrub(s, repo, password string) string {
	if u, err := url.Parse(repo); err == nil && u.User != nil {
		s = strings.ReplaceAll(s, repo, redact.URL(u))
		if p, ok := u.User.Password(); ok && p != "" {
			s = strings.ReplaceAll(s, p, "xxxxx")
			s = strings.ReplaceAll(s, url.PathEscape(p), "xxxxx")
		}
	}
	if password != "" {
		s = strings.ReplaceAll(s, password, "xxxxx")
	}
	return s
}

// safeURL is repo for logs, without its userinfo (a token may be the user).
func safeURL(repo string) string {
	if u, err := url.Parse(repo); err == nil {
		return redact.URL(u)
	}
	return repo
}
