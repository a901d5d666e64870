package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// run re-executes os.Executable() as the demo app; under go test that is this
// test binary, so route the app mode to the same code main would run.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == appMode {
		main()
	}
	code := m.Run()
	if podkitDir != "" {
		os.RemoveAll(podkitDir)
	}
	os.Exit(code)
}

// podkitBin builds podkit once per test binary, on first use, into podkitDir.
var (
	podkitDir string
	podkitBin = sync.OnceValues(func() (string, error) {
		var err error
		if podkitDir, err = os.MkdirTemp("", "quickstart-test-"); err != nil {
			return "", err
		}
		return buildInto(filepath.Join(podkitDir, "podkit"))
	})
)

func buildInto(bin string) (string, error) {
	cmd := exec.Command("go", "build", "-o", bin, "github.com/podkit/podkit/cmd/podkit")
	cmd.Dir = filepath.Join("..", "..", "..") // the root module
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New("go build podkit: " + err.Error() + "\n" + string(out))
	}
	return bin, nil
}

func buildPodkit(t *testing.T) string {
	t.Helper()
	bin, err := podkitBin()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// freeAddrs returns n distinct loopback addresses that were free just now.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close() // held until all are picked, so they differ
		addrs = append(addrs, l.Addr().String())
	}
	return addrs
}

func runDemo(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	return code, out.String(), errOut.String()
}

func TestDemo(t *testing.T) {
	podkit := buildPodkit(t)
	addrs := freeAddrs(t, 3)
	app, admin, run := addrs[0], addrs[1], addrs[2]

	code, out, _ := runDemo(t, "-podkit", podkit, "-duration", "2s", "-app-addr", app, "-health-admin", admin, "-run-admin", run)
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}

	for _, want := range []string{
		"CONTAINER  PID",
		"curl http://" + app + "/work",
		"curl http://" + admin + "/checks",
		"curl -s http://" + admin + "/metrics | grep podkit_health",
		"curl http://" + run + "/lifecycle",
		"curl 'http://" + run + "/logs?tail=5'",
		`app    | ` + "time=", // podkit run's own log
		`msg="child started"`,
		`msg=listening`, // the app's log, through podkit run
		podkit + " probe http://" + app + "/healthz; echo $?",
		"exec probe: podkit probe http://" + app + "/healthz -> exit 0",
		`health | ` + "time=", // prefixed child logs
		`msg="admin server listening"`,
		"==> app: exit 0",
		"==> health: exit 0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}

	rows := map[string]string{"app": app, "health": admin}
	for name, addr := range rows {
		m := regexp.MustCompile(`(?m)^` + name + `\s+(\d+)\s+http://` + regexp.QuoteMeta(addr) + `/$`).FindStringSubmatch(out)
		if m == nil {
			t.Errorf("table has no row for %s at %s", name, addr)
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
			t.Errorf("%s pid %d: kill(pid, 0) = %v, want ESRCH", name, pid, err)
		}
		if err := syscall.Kill(-pid, 0); err != syscall.ESRCH {
			t.Errorf("%s process group %d: kill(-pgid, 0) = %v, want ESRCH", name, pid, err)
		}
	}

	m := regexp.MustCompile(`pod volume: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("output does not name the pod volume")
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("pod volume %s still there (stat: %v)", m[1], err)
	}
}

func TestMissingPodkit(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-podkit")
	code, out, errOut := runDemo(t, "-podkit", missing, "-duration", "1s")
	if code == 0 {
		t.Fatal("exit 0 without a podkit binary")
	}
	if !strings.Contains(errOut, missing) || !strings.Contains(errOut, "make build") {
		t.Errorf("stderr %q should name %s and say to run make build", errOut, missing)
	}
	if out != "" {
		t.Errorf("started anyway: %q", out)
	}
}

// A taken port must fail up front: otherwise whatever holds it could answer
// the readiness check in the container's place.
func TestPortInUse(t *testing.T) {
	podkit := buildPodkit(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addrs := freeAddrs(t, 2)

	code, out, errOut := runDemo(t, "-podkit", podkit, "-duration", "1s", "-app-addr", addrs[0], "-run-admin", addrs[1], "-health-admin", l.Addr().String())
	if code == 0 {
		t.Fatal("exit 0 with the admin port taken")
	}
	if !strings.Contains(errOut, "-health-admin") {
		t.Errorf("stderr %q should point at -health-admin", errOut)
	}
	if out != "" {
		t.Errorf("started anyway: %q", out)
	}
}

// A container that dies while starting stops the demo: the others are
// stopped too and the volume is removed.
func TestStartupFailure(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "podkit")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho boom >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	addrs := freeAddrs(t, 3)
	code, out, errOut := runDemo(t, "-podkit", fake, "-duration", "1s", "-app-addr", addrs[0], "-health-admin", addrs[1], "-run-admin", addrs[2])
	if code == 0 {
		t.Fatal("exit 0 although podkit run failed")
	}
	if !strings.Contains(errOut, "app exited during startup (exit 1)") {
		t.Errorf("stderr %q should say app exited during startup", errOut)
	}
	if strings.Contains(out, "starting health") {
		t.Error("health was started after the app failed")
	}
	for _, want := range []string{"app    | boom", "==> app: exit 1", "==> removed "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
