package syslog

import (
	"fmt"
	"strings"
	"testing"
)

var urlTests = []struct {
	url  string
	want string // addr|facility|severity|app|hostname|sdid or "error: substring"
}{
	{"syslog+tcp://127.0.0.1:514", "127.0.0.1:514|1|6|logsaver||podkit@32473"},
	{"syslog+tcp://logs.example:6514?facility=local0&app-name=web&hostname=node-1", "logs.example:6514|16|6|web|node-1|podkit@32473"},
	{"syslog+tcp://[::1]:514/?facility=3&severity=warning&sd-id=logs@12345", "[::1]:514|3|4|logsaver||logs@12345"},
	{"syslog+tcp://h:514?severity=DEBUG", "h:514|1|7|logsaver||podkit@32473"},
	{"syslog+udp://h:514", "error: scheme"},
	{"syslog+tcp://h", "error: HOST:PORT"},
	{"syslog+tcp://:514", "error: HOST:PORT"},
	{"syslog+tcp://h:0", "error: port"},
	{"syslog+tcp://h:514/path", "error: want syslog+tcp://"},
	{"syslog+tcp://u:p@h:514", "error: want syslog+tcp://"},
	{"syslog+tcp://h:514?facility=local8", "error: facility"},
	{"syslog+tcp://h:514?facility=24", "error: facility"},
	{"syslog+tcp://h:514?severity=8", "error: severity"},
	{"syslog+tcp://h:514?app-name=a%20b", "error: app-name"},
	{"syslog+tcp://h:514?app-name=" + strings.Repeat("a", 49), "error: app-name"},
	{"syslog+tcp://h:514?hostname=-", "error: hostname"},
	{"syslog+tcp://h:514?sd-id=a%3Db", "error: sd-id"},
	{"syslog+tcp://h:514?color=red", "error: unknown option"},
	{"syslog+tcp://h:514?facility=1&facility=2", "error: given 2 times"},
}

func TestParseURL(t *testing.T) {
	for _, tc := range urlTests {
		t.Run(tc.url, func(t *testing.T) {
			o, err := ParseURL(tc.url)
			if want, ok := strings.CutPrefix(tc.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want one containing %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprintf("%s|%d|%d|%s|%s|%s", o.Addr, o.Facility, o.Severity, o.AppName, o.Hostname, o.SDID)
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func FuzzParseURL(f *testing.F) {
	for _, tc := range urlTests {
		f.Add(tc.url)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		o, err := ParseURL(raw)
		if err != nil {
			return
		}
		if o.Facility < 0 || o.Facility > 23 || o.Severity < 0 || o.Severity > 7 ||
			!printASCII(o.AppName, 48) || (o.Hostname != "" && !printASCII(o.Hostname, 255)) || !validSDName(o.SDID) {
			t.Fatalf("%q parsed to %+v", raw, o)
		}
	})
}
