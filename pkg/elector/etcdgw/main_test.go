package etcdgw

import (
	"testing"

	"go.uber.org/goleak"
)

// Watches and connections end with Close: no goroutine outlives a test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
