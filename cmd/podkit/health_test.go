package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/podkit/podkit/internal/clitest"
)

// testTargets starts one real server of each kind for podkit to probe.
type testTargets struct {
	web     *httptest.Server
	failing atomic.Bool // makes /flaky answer 500
	tcp     string
	grpc    string
}

func startTargets(t *testing.T) *testTargets {
	t.Helper()
	tt := &testTargets{}
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("status: UP")) })
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, _ *http.Request) {
		if tt.failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	hang := make(chan struct{})
	mux.HandleFunc("/hang", func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	})
	tt.web = httptest.NewServer(mux)
	t.Cleanup(func() { close(hang); tt.web.Close() })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	tt.tcp = ln.Addr().String()

	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, grpchealth.NewServer())
	go func() { _ = srv.Serve(gln) }()
	t.Cleanup(srv.Stop)
	tt.grpc = gln.Addr().String()
	return tt
}

type checksPage struct {
	StartupDone bool `json:"startup_done"`
	Checks      []struct {
		Name, Kind, Target, Status string
		LastError                  string `json:"last_error"`
		Probes                     int
	} `json:"checks"`
}

func getChecks(t *testing.T, p *clitest.Proc) checksPage {
	t.Helper()
	code, body := p.Get("/checks")
	var page checksPage
	if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil {
		t.Fatalf("/checks = %d %v\n%s", code, err, body)
	}
	return page
}

// waitFor polls cond; the bound only stops a broken build from hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestHealthChecksEveryKindOfTarget(t *testing.T) {
	tt := startTargets(t)
	p := clitest.Start(t, clitest.Options{
		// One check from the environment, one per line, as Kubernetes env would give it.
		Env: []string{"PODKIT_CHECK=env=tcp://" + tt.tcp + ";period=100ms\n"},
	}, "health",
		"--check", "web=http://probe:hunter2@"+strings.TrimPrefix(tt.web.URL, "http://")+"/ok;period=100ms",
		"--check", "flaky="+tt.web.URL+"/flaky;period=100ms;failure-threshold=2",
		"--check", "tcp=tcp://"+tt.tcp+";kind=liveness;period=100ms",
		"--check", "grpc=grpc://"+tt.grpc+";period=100ms",
		"--check", "boot=exec:true;kind=startup;period=100ms",
		"--check-expect-body", "web=UP",
	)
	p.WaitReady()
	page := getChecks(t, p)
	names := []string{}
	for _, c := range page.Checks {
		names = append(names, c.Name+":"+c.Kind+":"+c.Status)
		if strings.Contains(c.Target, "hunter2") {
			t.Errorf("/checks shows a password: %s", c.Target)
		}
	}
	// The flag wins over the environment, as for every flag.
	if got := strings.Join(names, " "); got != "web:readiness:ok flaky:readiness:ok tcp:liveness:ok grpc:readiness:ok boot:startup:ok" {
		t.Errorf("/checks: %s", got)
	}
	if _, body := p.Get("/metrics"); !strings.Contains(body, `podkit_health_check_up{check="grpc",kind="readiness"} 1`) ||
		!strings.Contains(body, "podkit_health_check_duration_seconds_bucket") {
		t.Errorf("/metrics lacks the check series")
	}

	tt.failing.Store(true)
	waitFor(t, "/readyz to fail", func() bool { code, _ := p.Get("/readyz"); return code == 503 })
	if code, body := p.Get("/readyz?verbose"); code != 503 || !strings.Contains(body, "[-]health not ready: flaky: "+tt.web.URL+"/flaky: HTTP 500") {
		t.Errorf("/readyz?verbose = %d %q", code, body)
	}
	if code, _ := p.Get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d: a failing readiness check must not fail liveness", code)
	}
	tt.failing.Store(false)
	p.WaitReady()
	p.Stop()
	if strings.Contains(p.Stderr(), "hunter2") {
		t.Errorf("the log shows a password")
	}
}

func TestHealthEnvChecks(t *testing.T) {
	tt := startTargets(t)
	p := clitest.Start(t, clitest.Options{
		Env: []string{"PODKIT_CHECK=a=tcp://" + tt.tcp + ";period=100ms\nb=" + tt.web.URL + "/ok;period=100ms\n"},
	}, "health")
	p.WaitReady()
	if page := getChecks(t, p); len(page.Checks) != 2 || page.Checks[1].Name != "b" {
		t.Fatalf("PODKIT_CHECK with two lines gave %+v", page.Checks)
	}
	p.Stop()
}

// Hanging checks (an HTTP handler that never answers, exec:sleep 60) delay
// neither the endpoints nor the stop, and leave no process behind.
func TestHealthHangingChecks(t *testing.T) {
	tt := startTargets(t)
	p := clitest.Start(t, clitest.Options{}, "health",
		"--check", "hang="+tt.web.URL+"/hang;kind=liveness;timeout=1m;period=1m",
		"--check", "sleep=exec:sleep 60;kind=liveness;timeout=1m",
		"--check", "ok="+tt.web.URL+"/ok;period=100ms",
	)
	p.WaitReady()
	var sleepPid int
	waitFor(t, "the exec check's sleep to start", func() bool { sleepPid = childNamed(p.Pid(), "sleep"); return sleepPid != 0 })

	client := &http.Client{Timeout: 2 * time.Second}
	for _, path := range []string{"/healthz", "/readyz", "/checks"} {
		start := time.Now()
		resp, err := client.Get(p.AdminURL() + path)
		if err != nil {
			t.Fatalf("GET %s while checks hang: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d while liveness checks hang: they are ok until proven failing", path, resp.StatusCode)
		}
		t.Logf("GET %s took %s", path, time.Since(start))
	}

	start := time.Now()
	p.Stop() // exit 0: the stop did not need the 10s shutdown timeout
	t.Logf("stopped in %s", time.Since(start))
	if _, err := os.Stat("/proc/" + strconv.Itoa(sleepPid)); err == nil {
		t.Errorf("exec check's sleep (pid %d) outlived podkit", sleepPid)
	}
}

// childNamed returns the pid of a child of ppid whose command is comm, or 0.
func childNamed(ppid int, comm string) int {
	for _, p := range clitest.Processes() {
		if p.PPid == ppid && p.Comm == comm {
			return p.Pid
		}
	}
	return 0
}

func TestCheckFlagErrorsExit2(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"--check", "api"}, "--check: want NAME=TARGET"},
		{nil, []string{"--check", "s=http://u:hunter2@h:1/;perod=5s"}, `--check: s: unknown option "perod" (want kind, period,`},
		{nil, []string{"--check", "api=http://h:1/;kind=sometimes"}, `--check: api: kind="sometimes": want liveness, readiness or startup`},
		{nil, []string{"--check", "api=ftp://u:hunter2@h/"}, `--check: api: target: scheme "ftp": want http, https, tcp, grpc or exec:`},
		{nil, []string{"--check", "a=tcp://h:1", "--check", "a=tcp://h:2"}, "--check: a: name used twice"},
		{nil, []string{"--check", "a=http://h:1/", "--check-expect-body", "a=("}, "--check-expect-body: a: target: expect-body: error parsing regexp"},
		{nil, []string{"--check", "a=tcp://h:1", "--check-expect-body", "a=x"}, "--check-expect-body: a: target: tcp://h:1: expect-body applies to HTTP targets only"},
		{nil, []string{"--check-expect-body", "x", "--check-expect-body", "y"}, "--check-expect-body: more than one REGEX without a check NAME="},
		{[]string{"PODKIT_CHECK=ok=tcp://h:1\nbad=tcp://h"}, nil, "--check: bad: target: tcp://h: want tcp://host:port"},
	} {
		r := clitest.Run(t, tc.env, append([]string{"health"}, tc.args...)...)
		firstLine, _, _ := strings.Cut(r.Stderr, "\n")
		if r.Code != 2 || !strings.Contains(firstLine, tc.want) || strings.Contains(r.Stderr, "hunter2") {
			t.Errorf("podkit health %q: exit %d, stderr %q; want exit 2 and one line containing %q", tc.args, r.Code, r.Stderr, tc.want)
		}
	}
}

func TestHealthHelpDocumentsChecks(t *testing.T) {
	code, out, _ := runInProcess("health", "--help")
	for _, want := range []string{"--check stringArray", "[$PODKIT_CHECK]", "--check-expect-body", "kind=liveness|readiness|startup (default readiness)", "/checks"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("health --help lacks %q", want)
		}
	}
}
