package hook

import (
	"errors"
	"strings"
	"testing"
)

func TestWebhookValidate(t *testing.T) {
	for _, tc := range []struct {
		w    Webhook
		flag string // "" means valid
	}{
		{Webhook{URL: "http://app:8080/reload", SuccessStatus: 200}, ""},
		{Webhook{URL: "https://h/x", Method: "PATCH", SuccessStatus: 204, Timeout: 5e9}, ""},
		{Webhook{URL: "http://h", SuccessStatus: -1}, ""},
		{Webhook{URL: "http://h", SuccessStatus: 0}, ""},
		{Webhook{}, "webhook-url"},
		{Webhook{URL: "app:8080"}, "webhook-url"},
		{Webhook{URL: "file:///x"}, "webhook-url"},
		{Webhook{URL: "http:///path"}, "webhook-url"},
		{Webhook{URL: "http://h\x7f"}, "webhook-url"},
		{Webhook{URL: "http://h", Method: "GET /"}, "webhook-method"},
		{Webhook{URL: "http://h", SuccessStatus: 99}, "webhook-success-status"},
		{Webhook{URL: "http://h", SuccessStatus: 600}, "webhook-success-status"},
		{Webhook{URL: "http://h", SuccessStatus: -2}, "webhook-success-status"},
		{Webhook{URL: "http://h", Timeout: -1}, "webhook-timeout"},
	} {
		checkOption(t, tc.w.URL, tc.w.Validate(), tc.flag)
	}
}

func TestExecValidate(t *testing.T) {
	for _, tc := range []struct {
		e    Exec
		flag string
	}{
		{Exec{Command: "/hooks/reload"}, ""},
		{Exec{Command: "/hooks/reload", Timeout: 1e9, Env: []string{"A=1", "B="}}, ""},
		{Exec{}, "exechook-command"},
		{Exec{Command: "/x", Timeout: -1}, "exechook-timeout"},
		{Exec{Command: "/x", Env: []string{"NOEQUALS"}}, "exechook-command"},
	} {
		checkOption(t, tc.e.Command, tc.e.Validate(), tc.flag)
	}
}

func checkOption(t *testing.T, name string, err error, flag string) {
	t.Helper()
	if flag == "" {
		if err != nil {
			t.Errorf("%q: %v", name, err)
		}
		return
	}
	oe, ok := errors.AsType[*OptionError](err)
	if !ok || oe.Flag != flag || !strings.HasPrefix(err.Error(), "--"+flag+": ") {
		t.Errorf("%q: err = %v, want one naming --%s", name, err, flag)
	}
}
