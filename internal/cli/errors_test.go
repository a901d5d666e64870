package cli

import (
	"errors"
	"fmt"
	"testing"
)

type codeErr int

func (c codeErr) Error() string { return "child exited" }
func (c codeErr) ExitCode() int { return int(c) }

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("io"), 1},
		{Usagef("timeout", "bad"), 2},
		{fmt.Errorf("wrapped: %w", &UsageError{Err: errors.New("x")}), 2},
		{fmt.Errorf("%w: second signal", ErrForced), 3},
		{fmt.Errorf("run: %w", codeErr(137)), 137},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	if got := Usagef("timeout", "must be > 0 (got %s)", "-1s").Error(); got != "--timeout: must be > 0 (got -1s)" {
		t.Errorf("Usagef = %q", got)
	}
}
