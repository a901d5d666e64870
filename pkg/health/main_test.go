package health

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine a check starts has an owner that waits for it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
