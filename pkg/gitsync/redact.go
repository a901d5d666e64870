package gitsync

import (
	"net/url"
	"strings"
)

// redact removes credentials from s: the userinfo of repo (and of any URL
// in s with the same host) and the password itself, wherever a library
// put them in an error.
func redact(s, repo, password string) string {
	if u, err := url.Parse(repo); err == nil && u.User != nil {
		s = strings.ReplaceAll(s, repo, u.Redacted())
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

// safeURL is repo for logs: its password replaced.
func safeURL(repo string) string {
	if u, err := url.Parse(repo); err == nil && u.User != nil {
		return u.Redacted()
	}
	return repo
}
