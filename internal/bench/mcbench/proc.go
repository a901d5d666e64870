package main

import "github.com/podkit/podkit/internal/bench/benchkit"

// findBin returns the flag's value if set, else name on PATH, else in the
// directories Debian installs daemons to, which a non-root PATH may lack.
func findBin(name, flagValue string) (string, error) {
	return benchkit.FindBin(name, flagValue, "/usr/sbin", "/usr/bin", "/sbin")
}
