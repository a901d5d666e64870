package syslog

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Options are what a syslog+tcp URL sets.
type Options struct {
	Addr     string // HOST:PORT
	Facility int    // 0-23; default 1 (user)
	Severity int    // 0-7; default 6 (info)
	AppName  string // default "logsaver"
	Hostname string // "": os.Hostname() (New fills it in)
	SDID     string // the structured data's SD-ID; default podkit@32473
}

// DefaultSDID names podkit's structured data element. 32473 is the
// enterprise number IANA reserves for examples (RFC 5612): podkit has none
// of its own. Set sd-id= to an ID under your own enterprise number if a
// receiver needs it.
const DefaultSDID = "podkit@32473"

var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "security": 13, "console": 14, "solaris-cron": 15,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

var severities = map[string]int{
	"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7,
}

// ParseURL parses syslog+tcp://HOST:PORT?OPTIONS. Options:
//
//	facility=NAME|N   kern … local7, or 0-23; default user
//	severity=NAME|N   emerg … debug, or 0-7; default info (every record)
//	app-name=NAME     APP-NAME, 1-48 printable ASCII; default logsaver
//	hostname=NAME     HOSTNAME, 1-255 printable ASCII; default os.Hostname()
//	sd-id=ID          the SD-ID of file, offset and labels; default podkit@32473
func ParseURL(raw string) (Options, error) {
	o := Options{Facility: 1, Severity: 6, AppName: "logsaver", SDID: DefaultSDID}
	u, err := url.Parse(raw)
	if err != nil {
		return o, fmt.Errorf("syslog: URL: %v", err)
	}
	if u.Scheme != "syslog+tcp" {
		return o, fmt.Errorf("syslog: URL: scheme must be syslog+tcp (got %q)", u.Scheme)
	}
	if u.User != nil || u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return o, fmt.Errorf("syslog: URL: want syslog+tcp://HOST:PORT?OPTIONS (got %s)", u.Redacted())
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" {
		return o, fmt.Errorf("syslog: URL: want HOST:PORT (got %q)", u.Host)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return o, fmt.Errorf("syslog: URL: port: want 1-65535 (got %q)", port)
	}
	o.Addr = u.Host
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return o, fmt.Errorf("syslog: URL: query: %v", err)
	}
	for name, vs := range q {
		if len(vs) != 1 {
			return o, fmt.Errorf("syslog: URL: %s: given %d times", name, len(vs))
		}
		v := vs[0]
		switch name {
		case "facility":
			if o.Facility, err = lookup(facilities, v, 23); err != nil {
				return o, fmt.Errorf("syslog: URL: facility: %w", err)
			}
		case "severity":
			if o.Severity, err = lookup(severities, v, 7); err != nil {
				return o, fmt.Errorf("syslog: URL: severity: %w", err)
			}
		case "app-name":
			if !printASCII(v, 48) {
				return o, fmt.Errorf("syslog: URL: app-name: want 1-48 printable ASCII characters (got %q)", v)
			}
			o.AppName = v
		case "hostname":
			if !printASCII(v, 255) {
				return o, fmt.Errorf("syslog: URL: hostname: want 1-255 printable ASCII characters (got %q)", v)
			}
			o.Hostname = v
		case "sd-id":
			if !validSDName(v) {
				return o, fmt.Errorf("syslog: URL: sd-id: want 1-32 printable ASCII characters but = ] \" and space (got %q)", v)
			}
			o.SDID = v
		default:
			return o, fmt.Errorf("syslog: URL: unknown option %q (want facility, severity, app-name, hostname, sd-id)", name)
		}
	}
	return o, nil
}

func lookup(names map[string]int, v string, max int) (int, error) {
	if n, ok := names[strings.ToLower(v)]; ok {
		return n, nil
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= max {
		return n, nil
	}
	return 0, fmt.Errorf("unknown %q", v)
}

// printASCII is RFC 5424's 1*n PRINTUSASCII (33-126), and not "-" alone,
// which would read as NILVALUE.
func printASCII(s string, n int) bool {
	if len(s) == 0 || len(s) > n || s == "-" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return true
}

// validSDName is RFC 5424's SD-NAME: 1-32 PRINTUSASCII but '=', ']', '"'
// (and space, which PRINTUSASCII excludes already).
func validSDName(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 || c == '=' || c == ']' || c == '"' {
			return false
		}
	}
	return true
}
