// Package cli holds what every podkit subcommand shares on its command line:
// PODKIT_* environment binding, usage errors, slog setup and build information.
package cli

import (
	"fmt"
	"runtime"
)

// Set by the Makefile with -ldflags "-X": this machine builds with
// GOFLAGS=-buildvcs=false, so the VCS stamp cannot be read back at run time.
var (
	Version = "dev"
	Commit  = "unknown"
)

// VersionString is what `podkit version` prints.
func VersionString() string {
	return fmt.Sprintf("podkit %s (commit %s, %s, %s/%s)", Version, Commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
