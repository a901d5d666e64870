package supervisor

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine Run and Exec start has an owner that waits for it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
