package memcacheproxy

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a Proxy starts (clients, server connections, probes,
// lookups) ends when Serve returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
