//go:build graphite_exporter

// The Go module proxy does not serve graphite_exporter (every version is
// refused, 2026-11-29) and Debian has no package: these tests run only where
// it is installed, with -tags graphite_exporter.

package graphitetest

import (
	"strings"
	"testing"
)

func TestStartSendScrape(t *testing.T) {
	e := Start(t, "")
	e.Send(t, "podkit.test 3 TS", "podkit.tagged;env=prod 7 TS")
	m := e.Metrics(t)
	for _, want := range []string{"podkit_test 3", `podkit_tagged{env="prod"} 7`} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
