package load

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine of a run (connections, readers, fake servers) is waited for.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
