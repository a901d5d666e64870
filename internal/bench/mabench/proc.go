package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// findStatsdExporter returns the flag's value if set, else statsd_exporter
// on PATH, else in $(go env GOPATH)/bin, where make deps installs it.
func findStatsdExporter(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p, err := exec.LookPath("statsd_exporter"); err == nil {
		return p, nil
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "statsd_exporter")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("statsd_exporter not found on PATH or in $(go env GOPATH)/bin (make deps installs v0.31.0)")
}
