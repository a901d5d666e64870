package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// findBin returns the flag's value if set, else name on PATH, else in the
// directories Debian installs daemons to, which a non-root PATH may lack.
func findBin(name, flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in /usr/sbin, /usr/bin (make deps installs it)", name)
}
