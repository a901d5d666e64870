package benchkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// FindBin returns flagValue if set, else name on PATH, else name in the
// first of dirs that has it as an executable file. GoBin in dirs stands
// for $(go env GOPATH)/bin, where scripts/deps.sh go-installs tools.
func FindBin(name, flagValue string, dirs ...string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range dirs {
		if dir == GoBin {
			out, err := exec.Command("go", "env", "GOPATH").Output()
			if err != nil {
				continue
			}
			dir = filepath.Join(strings.TrimSpace(string(out)), "bin")
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in %s (make deps installs it)", name, strings.Join(dirs, ", "))
}

// GoBin stands for $(go env GOPATH)/bin in FindBin's dirs.
const GoBin = "$(go env GOPATH)/bin"
