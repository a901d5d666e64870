// Package redact hides credentials in URLs before they reach logs, errors
// or metrics.
package redact

import "net/url"

// URL returns u with all of its userinfo replaced by "xxxxx".
// (*url.URL).Redacted hides only the password, but git remotes and webhook
// URLs often carry a token as the user (https://TOKEN@host, or
// TOKEN:x-oauth-basic@host), so the user goes too.
func URL(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = url.User("xxxxx")
	return c.String()
}
