package statsdtest

import (
	"strings"
	"testing"
)

func TestStartSendScrape(t *testing.T) {
	e := Start(t, "")
	e.Send(t, "podkit.test:3|c", "podkit.gauge:7|g")
	m := e.Metrics(t)
	for _, want := range []string{"podkit_test 3", "podkit_gauge 7"} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
