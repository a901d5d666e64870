package hook

import "net/url"

// redact returns u for logs and errors with all of its userinfo replaced.
// (*url.URL).Redacted hides only the password, but webhook URLs often carry
// a token as the user (https://TOKEN@host, or TOKEN:x-oauth-basic@host), so
// the user goes too.
func redact(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = url.User("xxxxx")
	return c.String()
}
