package main

import "github.com/podkit/podkit/internal/bench/benchkit"

// findStatsdExporter returns the flag's value if set, else statsd_exporter
// on PATH, else in $(go env GOPATH)/bin, where make deps installs it.
func findStatsdExporter(flagValue string) (string, error) {
	return benchkit.FindBin("statsd_exporter", flagValue, benchkit.GoBin)
}
