package cli

import (
	"errors"
	"fmt"
)

// Exit codes, documented in the README.
const (
	ExitOK      = 0
	ExitFailure = 1 // runtime failure
	ExitUsage   = 2 // bad flag, env var or config file: nothing was started
	ExitForced  = 3 // a second signal, or the shutdown timeout, cut the stop short
)

// UsageError marks an error as the user's to fix; it exits 2 before anything starts.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef builds a UsageError naming the flag at fault.
func Usagef(flag, format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf("--%s: %s", flag, fmt.Sprintf(format, args...))}
}

// ErrForced is returned when the stop was cut short; it exits 3.
var ErrForced = errors.New("forced exit")

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	var ue *UsageError
	var ec interface{ ExitCode() int }
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	case errors.Is(err, ErrForced):
		return ExitForced
	case errors.As(err, &ec):
		return ec.ExitCode()
	default:
		return ExitFailure
	}
}
