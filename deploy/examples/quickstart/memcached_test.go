package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeApt writes an apt-get that logs its arguments to log and, on install,
// puts an executable memcached into dir. With needUpdate, install fails
// until an update ran, as on a machine without package lists; with
// alwaysFail it always fails.
func fakeApt(t *testing.T, dir, log string, needUpdate, alwaysFail bool) string {
	t.Helper()
	script := fmt.Sprintf(`#!/bin/sh
need_update=%t always_fail=%t
echo "$*" >> %[3]s
case "$1" in
update) touch %[3]s.updated ;;
install)
	if $always_fail || { $need_update && [ ! -e %[3]s.updated ]; }; then
		echo "E: Unable to locate package memcached" >&2
		exit 100
	fi
	printf '#!/bin/sh\n' > %[4]s/memcached
	chmod 755 %[4]s/memcached ;;
esac
`, needUpdate, alwaysFail, log, dir)
	p := filepath.Join(t.TempDir(), "apt-get")
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFinder(t *testing.T) {
	install := "install -y --no-install-recommends memcached"
	for _, tc := range []struct {
		name        string
		onPath      bool // memcached already in a $PATH directory
		root        bool
		apt         bool
		needUpdate  bool
		alwaysFail  bool
		wantFound   bool
		wantApt     []string // apt-get's argument lines
		wantOut     []string
		wantSkipped string
	}{
		{name: "found", onPath: true, root: true, apt: true, wantFound: true},
		{name: "not root", apt: true,
			wantSkipped: "memcached not found in $PATH or DIR, and the demo installs it only when run as root: `sudo apt-get install -y --no-install-recommends memcached`, then run the demo again"},
		{name: "no apt-get", root: true,
			wantSkipped: "memcached not found in $PATH or DIR, and there is no apt-get to install it with: install memcached, then run the demo again"},
		{name: "installed", root: true, apt: true, wantFound: true, wantApt: []string{install},
			wantOut: []string{"==> memcached not found in $PATH or DIR: installing it: apt-get install -y --no-install-recommends memcached\n", "==> installed DIR/memcached\n"}},
		{name: "installed after update", root: true, apt: true, needUpdate: true, wantFound: true,
			wantApt: []string{install, "update", install},
			wantOut: []string{"E: Unable to locate package memcached", "failed (exit status 100): apt-get update, then once more", "==> installed DIR/memcached\n"}},
		{name: "install fails", root: true, apt: true, alwaysFail: true,
			wantApt:     []string{install, "update", install},
			wantSkipped: "installing memcached failed (exit status 100); its output is above"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pathDir, dir := t.TempDir(), t.TempDir()
			log := filepath.Join(t.TempDir(), "apt.log")
			if tc.onPath {
				if err := os.WriteFile(filepath.Join(pathDir, "memcached"), []byte("#!/bin/sh\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			f := finder{path: pathDir, dirs: []string{dir}, root: tc.root, out: &out}
			if tc.apt {
				f.aptGet = fakeApt(t, dir, log, tc.needUpdate, tc.alwaysFail)
			}
			bin, skipped := f.find(t.Context())
			t.Logf("output:\n%s", out.String())

			want := ""
			switch {
			case tc.wantFound && tc.onPath:
				want = filepath.Join(pathDir, "memcached")
			case tc.wantFound:
				want = filepath.Join(dir, "memcached")
			}
			if bin != want {
				t.Errorf("bin = %q, want %q", bin, want)
			}
			if wantSkipped := strings.ReplaceAll(tc.wantSkipped, "DIR", dir); skipped != wantSkipped {
				t.Errorf("skipped = %q\nwant      %q", skipped, wantSkipped)
			}
			for _, w := range tc.wantOut {
				if w = strings.ReplaceAll(w, "DIR", dir); !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if len(tc.wantOut) == 0 && !tc.apt && out.Len() > 0 {
				t.Errorf("unexpected output %q", out.String())
			}
			got, _ := os.ReadFile(log)
			if want := strings.Join(tc.wantApt, "\n"); strings.TrimSpace(string(got)) != want {
				t.Errorf("apt-get ran with\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestValidKey(t *testing.T) {
	for k, want := range map[string]bool{
		"work:hello":             true,
		"":                       false,
		"a b":                    false,
		"a\r\nflush_all":         false,
		"\x7f":                   false,
		strings.Repeat("k", 250): true,
		strings.Repeat("k", 251): false,
	} {
		if got := validKey(k); got != want {
			t.Errorf("validKey(%.20q) = %v, want %v", k, got, want)
		}
	}
}
