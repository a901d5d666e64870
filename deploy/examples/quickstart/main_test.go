package main

import (
	"bytes"
	"context"
	"errors"
	"io"
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

// memcachedBin is the memcached the tests run: required, since CI installs
// it (scripts/deps.sh), and passed to the demo explicitly so that a test
// never installs anything.
func memcachedBin(t *testing.T) string {
	t.Helper()
	bin := newFinder(io.Discard).look()
	if bin == "" {
		t.Fatal("memcached not found in $PATH, /usr/bin or /usr/sbin: scripts/deps.sh installs it (apt-get install memcached)")
	}
	return bin
}

type row struct {
	pid int
	url string
}

// tableRows parses the demo's CONTAINER PID URL table.
func tableRows(t *testing.T, out string) map[string]row {
	t.Helper()
	_, table, ok := strings.Cut(out, "\nCONTAINER ")
	if !ok {
		t.Fatal("output has no table")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	rows := map[string]row{}
	for _, m := range regexp.MustCompile(`(?m)^(\S+) +(\d+) +(\S+)$`).FindAllStringSubmatch(table, -1) {
		pid, _ := strconv.Atoi(m[2])
		rows[m[1]] = row{pid, m[3]}
	}
	return rows
}

// checkGone says whether a container's process and its group are gone.
func checkGone(t *testing.T, name string, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Errorf("%s pid %d: kill(pid, 0) = %v, want ESRCH", name, pid, err)
	}
	if err := syscall.Kill(-pid, 0); err != syscall.ESRCH {
		t.Errorf("%s process group %d: kill(-pgid, 0) = %v, want ESRCH", name, pid, err)
	}
}

func checkVolumeRemoved(t *testing.T, out string) {
	t.Helper()
	m := regexp.MustCompile(`pod volume: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("output does not name the pod volume")
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("pod volume %s still there (stat: %v)", m[1], err)
	}
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

	code, out, _ := runDemo(t, "-podkit", podkit, "-memcached", memcachedBin(t), "-duration", "2s",
		"-app-addr", app, "-health-admin", admin, "-run-admin", run)
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}

	for _, want := range []string{
		"CONTAINER        PID",
		"curl http://" + app + "/work",
		"curl http://" + app + "/cache/hello",
		"curl http://" + admin + "/checks",
		"curl -s http://" + admin + "/metrics | grep podkit_health",
		"curl http://" + run + "/lifecycle",
		"curl 'http://" + run + "/logs?tail=5'",
		`msg="child started"`,
		`msg=listening`, // the app's log, through podkit run
		podkit + " probe http://" + app + "/healthz; echo $?",
		"exec probe: podkit probe http://" + app + "/healthz -> exit 0",
		`msg="admin server listening"`,
		`msg="memcache-proxy listening"`,
		"==> app cache: GET http://" + app + "/cache/quickstart -> miss: worked for ",
		"==> app cache: GET http://" + app + "/cache/quickstart -> hit: worked for ",
		"==> memcached-1: exit 0",
		"==> memcached-2: exit 0",
		"==> memcache-proxy: exit 0",
		"==> metrics: 2 requests to the app, sent as statsd, scraped from http://127.0.0.1:",
		`      http_requests_total{code="200",route="work"} 2`,
		`      http_request_duration_seconds_count{route="work"} 2`,
		"==> metrics-adapter: exit 0",
		`msg="logsaver running"`,
		"==> logsaver: 2 request lines from logs/app.log shipped to shipped/logsaver-",
		`level=INFO msg=request method=GET path=/work took=`,
		`"file":"logs/app.log"`,
		`"container":"app","pod":"quickstart","namespace":"local"}`,
		"/shipped/*   # the shipped records, NDJSON",
		"/logs/app.log.1 && curl -X POST 'http://" + run + "/lifecycle/signal?name=HUP'",
		"==> logsaver: exit 0",
		`msg=synced cmd=gitsync component=gitsync hash=`,
		"/git/html/index.html   # the synced page",
		"curl http://" + app + "/site/   # the app serves the synced tree",
		"==> gitsync: GET http://" + app + "/site/ -> <h1>version 2</h1>",
		"==> gitsync: exit 0",
		"==> app: exit 0",
		"==> health: exit 0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "skipped") {
		t.Error("memcache-proxy skipped although memcached was given")
	}
	// Prefixed child logs, aligned on the longest name.
	for _, name := range []string{"app", "health", "logsaver", "gitsync", "memcache-proxy", "metrics-adapter"} {
		if !regexp.MustCompile(`(?m)^` + name + ` +\| time=`).MatchString(out) {
			t.Errorf("no log line prefixed %q", name)
		}
	}

	// Keys set through the one proxy address land on both memcached, each
	// on exactly one (the demo checks that, and fails otherwise).
	m := regexp.MustCompile(`(\d+) keys set through (\S+): (\d+) on memcached-1, (\d+) on memcached-2`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("output does not show how the keys were sharded")
	}
	n, _ := strconv.Atoi(m[1])
	on1, _ := strconv.Atoi(m[3])
	on2, _ := strconv.Atoi(m[4])
	if on1 == 0 || on2 == 0 || on1+on2 != n {
		t.Errorf("%d keys: %d on memcached-1, %d on memcached-2; want both used, %d in all", n, on1, on2, n)
	}
	listen := m[2]
	if !strings.Contains(out, "| curl -s telnet://"+listen) {
		t.Errorf("no memcache example for the proxy at %s", listen)
	}

	rows := tableRows(t, out)
	for name, url := range map[string]string{"app": "http://" + app + "/", "health": "http://" + admin + "/"} {
		if r, ok := rows[name]; !ok || r.url != url {
			t.Errorf("table row %s = %+v, want URL %s", name, r, url)
		}
	}
	for _, name := range []string{"memcached-1", "memcached-2"} {
		if !strings.HasPrefix(rows[name].url, "tcp://127.0.0.1:") {
			t.Errorf("table row %s = %+v, want a tcp://127.0.0.1 URL", name, rows[name])
		}
	}
	proxy := rows["memcache-proxy"]
	if !strings.HasPrefix(proxy.url, "http://127.0.0.1:") {
		t.Errorf("table row memcache-proxy = %+v, want its admin URL", proxy)
	}
	if !strings.Contains(out, "curl -s "+strings.TrimSuffix(proxy.url, "/")+"/metrics | grep podkit_memcache_proxy") {
		t.Errorf("no metrics example for the proxy's admin at %s", proxy.url)
	}
	if !strings.HasPrefix(rows["logsaver"].url, "http://127.0.0.1:") {
		t.Errorf("table row logsaver = %+v, want its admin URL", rows["logsaver"])
	}
	checkGitsync(t, out)
	if !strings.HasPrefix(rows["gitsync"].url, "http://127.0.0.1:") {
		t.Errorf("table row gitsync = %+v, want its admin URL", rows["gitsync"])
	}
	if len(rows) != 8 {
		t.Errorf("table has %d rows, want 8: %v", len(rows), rows)
	}
	for name, r := range rows {
		checkGone(t, name, r.pid)
	}
	checkVolumeRemoved(t, out)
}

// Without memcached the demo still runs, says why memcache-proxy is left
// out, and the app does without its cache.
func TestDemoWithoutMemcached(t *testing.T) {
	podkit := buildPodkit(t)
	addrs := freeAddrs(t, 3)
	code, out, _ := runDemo(t, "-podkit", podkit, "-memcached", "off", "-duration", "1s",
		"-app-addr", addrs[0], "-health-admin", addrs[1], "-run-admin", addrs[2])
	if code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	if !strings.Contains(out, "==> memcache-proxy: skipped, the demo runs without it: -memcached off\n") {
		t.Error("output does not say memcache-proxy was skipped, and why")
	}
	for _, unwanted := range []string{"memcached-1", "starting memcache-proxy", "/cache/", "telnet://"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("output has %q", unwanted)
		}
	}
	rows := tableRows(t, out)
	if len(rows) != 5 {
		t.Errorf("table has %d rows, want metrics-adapter, logsaver, gitsync, app and health: %v", len(rows), rows)
	}
	for name, r := range rows {
		checkGone(t, name, r.pid)
	}
	checkVolumeRemoved(t, out)
}

func TestBadMemcachedFlag(t *testing.T) {
	podkit := buildPodkit(t)
	missing := filepath.Join(t.TempDir(), "memcached")
	code, out, errOut := runDemo(t, "-podkit", podkit, "-memcached", missing, "-duration", "1s")
	if code == 0 {
		t.Fatal("exit 0 with -memcached naming no file")
	}
	if !strings.Contains(errOut, "-memcached "+missing+": not an executable file") {
		t.Errorf("stderr %q should name -memcached %s", errOut, missing)
	}
	if out != "" {
		t.Errorf("started anyway: %q", out)
	}
}

func TestMissingPodkit(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-podkit")
	code, out, errOut := runDemo(t, "-podkit", missing, "-memcached", "off", "-duration", "1s")
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

	code, out, errOut := runDemo(t, "-podkit", podkit, "-memcached", memcachedBin(t), "-duration", "1s",
		"-app-addr", addrs[0], "-run-admin", addrs[1], "-health-admin", l.Addr().String())
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

// A container that dies while starting stops the demo: those started before
// it are stopped too and the volume is removed.
func TestStartupFailure(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "podkit")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho boom >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	addrs := freeAddrs(t, 3)
	code, out, errOut := runDemo(t, "-podkit", fake, "-memcached", memcachedBin(t), "-duration", "1s",
		"-app-addr", addrs[0], "-health-admin", addrs[1], "-run-admin", addrs[2])
	if code == 0 {
		t.Fatal("exit 0 although podkit memcache-proxy failed")
	}
	if !strings.Contains(errOut, "memcache-proxy exited during startup (exit 1)") {
		t.Errorf("stderr %q should say memcache-proxy exited during startup", errOut)
	}
	if strings.Contains(out, "starting app") {
		t.Error("the app was started after memcache-proxy failed")
	}
	for _, want := range []string{"memcache-proxy  | boom", "==> memcache-proxy: exit 1",
		"==> memcached-1: exit 0", "==> memcached-2: exit 0", "==> removed "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
