package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podkit/podkit/internal/clitest"
	"github.com/podkit/podkit/pkg/health"
)

// Hooks, lifecycle states, the admin API and checks of `podkit run`, in
// both modes (see run_test.go).

// post POSTs to the admin server; host "" keeps the URL's.
func post(t *testing.T, p *clitest.Proc, path, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.AdminURL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type lifecycle struct {
	State     string `json:"state"`
	PID       int    `json:"pid"`
	Restarts  int    `json:"restarts"`
	StopCause string `json:"stop_cause"`
	NextAt    string `json:"next_restart_at"`
	LastExit  *struct {
		ExitCode int    `json:"exit_code"`
		Status   string `json:"status"`
	} `json:"last_exit"`
}

func getLifecycle(t *testing.T, p *clitest.Proc) lifecycle {
	t.Helper()
	code, body := p.Get("/lifecycle")
	var l lifecycle
	if err := json.Unmarshal([]byte(body), &l); code != 200 || err != nil {
		t.Fatalf("/lifecycle = %d %v: %s", code, err, body)
	}
	return l
}

// hookServer records POSTs to /NAME as "http NAME" events; /hang answers
// when the request ends.
func hookServer(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			select {
			case <-r.Context().Done():
			case <-done:
			}
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/")
		if r.Method != http.MethodPost || r.Header.Get("X-Podkit-Hook") != name {
			t.Errorf("hook request %s %s with X-Podkit-Hook %q", r.Method, r.URL.Path, r.Header.Get("X-Podkit-Hook"))
		}
		record(dir, "http "+name)
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv
}

func TestRunHooks(t *testing.T) {
	forEachMode(t, func(t *testing.T, m runMode) {
		for _, kind := range []string{"exec", "http"} {
			t.Run(kind, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				post, pre := execHook("event", dir, "exec", "post-start"), execHook("event", dir, "exec", "pre-stop")
				if kind == "http" {
					srv := hookServer(t, dir)
					post, pre = srv.URL+"/post-start", srv.URL+"/pre-stop"
				}
				p := m.start(t, nil, withArgs([]string{"--post-start=" + post, "--pre-stop=" + pre}, signalsChild(dir)...)...)
				p.WaitReady()
				// Readiness waits for the post-start hook.
				if countEvents(dir, kind+" post-start") != 1 {
					t.Errorf("ready before the post-start hook ran: %q", readEvents(dir))
				}
				if n := metric(t, p, `podkit_run_hook_runs_total{hook="post-start",result="ok"}`); n != 1 {
					t.Errorf("post-start ok runs: %v, want 1", n)
				}
				readyPids(t, dir)
				p.Signal(syscall.SIGTERM)
				wantExit(t, p, 0)
				ev := readEvents(dir)
				i, j := slices.Index(ev, kind+" pre-stop"), slices.Index(ev, "child SIGTERM")
				if i < 0 || j < 0 || i > j {
					t.Errorf("events %q: want the pre-stop hook, then SIGTERM to the child", ev)
				}
			})
		}
	})
}

// A hanging hook is bounded by --hook-timeout: a post-start hook then lets
// the child become ready, a pre-stop hook lets the stop go on.
func TestRunHangingHooks(t *testing.T) {
	forEachMode(t, func(t *testing.T, m runMode) {
		for _, kind := range []string{"exec", "http"} {
			t.Run(kind, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				hook := execHook("hang", dir)
				if kind == "http" {
					hook = hookServer(t, dir).URL + "/hang"
				}
				p := m.start(t, nil, withArgs([]string{"--hook-timeout=300ms", "--post-start=" + hook, "--pre-stop=" + hook}, signalsChild(dir)...)...)
				p.WaitReady()
				if n := metric(t, p, `podkit_run_hook_runs_total{hook="post-start",result="timeout"}`); n != 1 {
					t.Errorf("post-start timeouts: %v, want 1", n)
				}
				readyPids(t, dir)
				p.Signal(syscall.SIGTERM)
				wantExit(t, p, 0)
				if countEvents(dir, "child SIGTERM") != 1 {
					t.Errorf("events %q: the child never got the stop signal", readEvents(dir))
				}
				if n := strings.Count(p.Stderr(), "timed out after 300ms"); n != 2 {
					t.Errorf("%d hook timeouts logged, want 2:\n%s", n, p.Stderr())
				}
				if !gone("hang\x00" + dir) {
					t.Errorf("a hanging exec hook outlived podkit")
				}
			})
		}
	})
}

// /lifecycle states: starting (post-start hook running), running, stopping
// (pre-stop hook running) and backoff; /readyz follows them.
func TestRunLifecycle(t *testing.T) {
	forEachMode(t, func(t *testing.T, m runMode) {
		t.Run("hooks", func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			entered := map[string]chan struct{}{"post-start": make(chan struct{}, 1), "pre-stop": make(chan struct{}, 1)}
			release := map[string]chan struct{}{"post-start": make(chan struct{}), "pre-stop": make(chan struct{})}
			srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				name := strings.TrimPrefix(r.URL.Path, "/")
				entered[name] <- struct{}{}
				select {
				case <-release[name]:
				case <-r.Context().Done():
				}
				record(dir, "http "+name)
			}))
			t.Cleanup(srv.Close) // after podkit is gone: its requests end then
			p := m.start(t, nil, withArgs([]string{"--post-start=" + srv.URL + "/post-start", "--pre-stop=" + srv.URL + "/pre-stop", "--hook-timeout=1m"},
				signalsChild(dir)...)...)
			<-entered["post-start"]
			pid, _ := readyPids(t, dir)
			if l := getLifecycle(t, p); l.State != "starting" || l.PID != pid {
				t.Errorf("/lifecycle during post-start: %+v, want starting with pid %d", l, pid)
			}
			if code, body := p.Get("/readyz?verbose"); code != 503 || !strings.Contains(body, "[-]supervisor starting: post-start hook running") {
				t.Errorf("/readyz during post-start = %d %q", code, body)
			}
			close(release["post-start"])
			p.WaitReady()
			if l := getLifecycle(t, p); l.State != "running" || l.PID != pid || l.Restarts != 0 {
				t.Errorf("/lifecycle once ready: %+v", l)
			}

			if code, body := post(t, p, "/lifecycle/stop", ""); code != http.StatusAccepted {
				t.Fatalf("POST /lifecycle/stop = %d %s", code, body)
			}
			<-entered["pre-stop"]
			if l := getLifecycle(t, p); l.State != "stopping" || l.StopCause != "POST /lifecycle/stop" {
				t.Errorf("/lifecycle during pre-stop: %+v", l)
			}
			if code, _ := p.Get("/readyz"); code != 503 {
				t.Errorf("/readyz while stopping = %d, want 503", code)
			}
			if countEvents(dir, "child SIGTERM") != 0 {
				t.Errorf("the child got the stop signal before the pre-stop hook ended")
			}
			close(release["pre-stop"])
			wantExit(t, p, 0)
			ev := readEvents(dir)
			if i, j := slices.Index(ev, "http pre-stop"), slices.Index(ev, "child SIGTERM"); i < 0 || j < i {
				t.Errorf("events %q: want pre-stop, then SIGTERM", ev)
			}
		})
		// Run waits for a post-start hook still running after the child
		// exited for good: then "exited" can be seen.
		t.Run("exited", func(t *testing.T) {
			t.Parallel()
			entered, release := make(chan struct{}, 1), make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				entered <- struct{}{}
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			t.Cleanup(srv.Close)
			p := m.start(t, nil, "--post-start="+srv.URL+"/post-start", "--hook-timeout=1m", "--", "sh", "-c", "exit 5")
			<-entered
			var l lifecycle
			eventually(t, "state exited", func() bool { l = getLifecycle(t, p); return l.State == "exited" })
			if l.PID != 0 || l.LastExit == nil || l.LastExit.ExitCode != 5 {
				t.Errorf("/lifecycle after the exit: %+v", l)
			}
			if code, body := p.Get("/readyz?verbose"); code != 503 || !strings.Contains(body, "[-]supervisor exited: child exit status 5") {
				t.Errorf("/readyz after the exit = %d %q", code, body)
			}
			close(release)
			wantExit(t, p, 5)
		})
		t.Run("backoff", func(t *testing.T) {
			t.Parallel()
			p := m.start(t, nil, "--restart=on-failure", "--restart-backoff=1h", "--restart-backoff-max=1h", "--", "sh", "-c", "exit 3")
			var l lifecycle
			eventually(t, "state backoff", func() bool { l = getLifecycle(t, p); return l.State == "backoff" })
			if l.PID != 0 || l.Restarts != 0 || l.NextAt == "" || l.LastExit == nil || l.LastExit.ExitCode != 3 || l.LastExit.Status != "exit status 3" {
				t.Errorf("/lifecycle in backoff: %+v", l)
			}
			if code, _ := p.Get("/readyz"); code != 503 {
				t.Errorf("/readyz in backoff = %d, want 503", code)
			}
			if code, body := post(t, p, "/lifecycle/signal?name=HUP", ""); code != http.StatusConflict {
				t.Errorf("POST /lifecycle/signal with no child = %d %s, want 409", code, body)
			}
			// A stop request ends the restarts; the last exit is the code.
			if code, body := post(t, p, "/lifecycle/stop", ""); code != http.StatusAccepted {
				t.Fatalf("POST /lifecycle/stop = %d %s", code, body)
			}
			wantExit(t, p, 3)
		})
	})
}

// A child's last line without a newline stays its own line in /logs, not
// glued to the first line of the child restarted after it.
func TestRunLogsAcrossRestarts(t *testing.T) {
	forEachMode(t, func(t *testing.T, m runMode) {
		marker := filepath.Join(t.TempDir(), "ran")
		script := `if [ -e "$1" ]; then echo second; exec sleep 60; fi; : > "$1"; printf partial; exit 3`
		p := m.start(t, nil, "--restart=on-failure", "--restart-backoff=50ms", "--", "sh", "-c", script, "sh", marker)
		var body string
		eventually(t, "the restarted child's line in /logs", func() bool {
			_, body = p.Get("/logs?tail=all")
			return strings.Contains(body, "second")
		})
		if body != "partial\nsecond\n" {
			t.Errorf("/logs = %q, want \"partial\\nsecond\\n\"", body)
		}
		p.Signal(syscall.SIGTERM)
		wantExit(t, p, 128+int(syscall.SIGTERM)) // sleep dies of it
	})
}

// The admin API: /logs, /config, /lifecycle and the POST routes.
func TestRunAdminAPI(t *testing.T) {
	forEachMode(t, func(t *testing.T, m runMode) {
		dir := t.TempDir()
		const secret = "s3cr3t-value-never-shown"
		argv := signalsChild(dir, "print=5")
		// A pre-stop hook whose URL has a password, which fails.
		p := m.start(t, []string{"RUNTEST_SECRET=" + secret}, withArgs([]string{"--pre-stop=http://hook:" + secret + "@127.0.0.1:1/"}, argv...)...)
		pid, _ := readyPids(t, dir)

		eventually(t, "the output in /logs", func() bool {
			_, body := p.Get("/logs?tail=all")
			return strings.Contains(body, "out 5\n") && strings.Contains(body, "err 5\n")
		})
		for _, tc := range []struct{ query, want string }{
			{"tail=2&stream=stdout", "out 4\nout 5\n"},
			{"tail=all&stream=stderr", "err 1\nerr 2\nerr 3\nerr 4\nerr 5\n"},
			{"tail=0", ""},
			{"tail=1&stream=stdout&format=json", `"stream": "stdout",` + "\n" + `    "line": "out 5"`},
		} {
			code, body := p.Get("/logs?" + tc.query)
			if code != 200 || !strings.HasSuffix(tc.query, "json") && body != tc.want || !strings.Contains(body, tc.want) {
				t.Errorf("/logs?%s = %d %q, want %q", tc.query, code, body, tc.want)
			}
		}
		for _, q := range []string{"tail=-1", "tail=x", "stream=both", "format=xml"} {
			if code, _ := p.Get("/logs?" + q); code != http.StatusBadRequest {
				t.Errorf("/logs?%s = %d, want 400", q, code)
			}
		}
		// The output also passes through unchanged (the test reads it
		// through pipes of its own, so it may lag behind /logs).
		eventually(t, "the output on podkit's stdout and stderr", func() bool {
			return strings.Contains(p.Stdout(), "out 5\n") && strings.Contains(p.Stderr(), "\nerr 5\n")
		})
		if got := p.Stdout(); got != "out 1\nout 2\nout 3\nout 4\nout 5\n" {
			t.Errorf("podkit's stdout %q, want the child's", got)
		}
		for i := 1; i <= 5; i++ {
			if !strings.Contains(p.Stderr(), fmt.Sprintf("\nerr %d\n", i)) {
				t.Errorf("podkit's stderr lacks the child's line err %d", i)
			}
		}

		code, body := p.Get("/config")
		var cfg struct {
			Argv []string `json:"argv"`
			Env  []string `json:"env"`
		}
		if err := json.Unmarshal([]byte(body), &cfg); code != 200 || err != nil {
			t.Fatalf("/config = %d %v: %s", code, err, body)
		}
		if !slices.Equal(cfg.Argv, argv[1:]) || !slices.Contains(cfg.Env, "RUNTEST_SECRET") || !slices.Contains(cfg.Env, childEnv) {
			t.Errorf("/config argv %q env %q", cfg.Argv, cfg.Env)
		}
		if strings.Contains(body, secret) || !strings.Contains(body, `"pre_stop": "http://hook:xxxxx@127.0.0.1:1/"`) {
			t.Errorf("/config shows a secret:\n%s", body)
		}

		if l := getLifecycle(t, p); l.State != "running" || l.PID != pid {
			t.Errorf("/lifecycle: %+v, want running with pid %d", l, pid)
		}
		code, body = post(t, p, "/lifecycle/signal?name=HUP", "")
		var sig struct {
			Signal string `json:"signal"`
			PID    int    `json:"pid"`
		}
		if err := json.Unmarshal([]byte(body), &sig); code != 200 || err != nil || sig.Signal != "SIGHUP" || sig.PID != pid {
			t.Errorf("POST /lifecycle/signal?name=HUP = %d %s", code, body)
		}
		waitEvent(t, dir, "child SIGHUP")
		if code, body := post(t, p, "/lifecycle/signal?name=usr1", "localhost"); code != 200 {
			t.Errorf("POST /lifecycle/signal?name=usr1 = %d %s", code, body)
		}
		waitEvent(t, dir, "child SIGUSR1")
		for _, tc := range []struct {
			path, host string
			code       int
		}{
			{"/lifecycle/signal?name=NOPE", "", http.StatusBadRequest},
			{"/lifecycle/signal", "", http.StatusBadRequest},
			{"/lifecycle/signal?name=HUP", "evil.example", http.StatusForbidden},
			{"/lifecycle/stop", "evil.example:80", http.StatusForbidden},
		} {
			if code, body := post(t, p, tc.path, tc.host); code != tc.code {
				t.Errorf("POST %s (Host %q) = %d %s, want %d", tc.path, tc.host, code, body, tc.code)
			}
		}
		for _, path := range []string{"/lifecycle/signal?name=HUP", "/lifecycle/stop"} {
			if code, _ := p.Get(path); code != http.StatusMethodNotAllowed {
				t.Errorf("GET %s = %d, want 405", path, code)
			}
		}
		if n := countEvents(dir, "child SIGHUP"); n != 1 {
			t.Errorf("the child got SIGHUP %d times, want 1 (refused requests sent it)", n)
		}
		if code, body := post(t, p, "/lifecycle/stop", ""); code != http.StatusAccepted {
			t.Fatalf("POST /lifecycle/stop = %d %s", code, body)
		}
		wantExit(t, p, 0)
		if ev := readEvents(dir); ev[len(ev)-1] != "child SIGTERM" {
			t.Errorf("events %q: want the stop to end with SIGTERM", ev)
		}
		if !strings.Contains(p.Stderr(), `"hook":"pre-stop"`) || strings.Contains(p.Stderr(), secret) {
			t.Errorf("the failing pre-stop hook was not logged, or its log shows a secret:\n%s", p.Stderr())
		}
	})
}

// --no-capture hands the child podkit's own stdout and stderr: no pipes, no /logs.
func TestRunNoCapture(t *testing.T) {
	forEachMode(t, func(t *testing.T, m runMode) {
		dir := t.TempDir()
		p := m.start(t, nil, withArgs([]string{"--no-capture"}, signalsChild(dir, "print=2")...)...)
		readyPids(t, dir)
		if code, _ := p.Get("/logs"); code != http.StatusNotFound {
			t.Errorf("/logs with --no-capture = %d, want 404", code)
		}
		p.Stop()
		if got := p.Stdout(); got != "out 1\nout 2\nchild got SIGTERM\n" || !strings.Contains(p.Stderr(), "\nerr 2\n") {
			t.Errorf("stdout %q; stderr:\n%s", got, p.Stderr())
		}
	})
}

func getCheck(t *testing.T, p *clitest.Proc, name string) health.CheckStatus {
	t.Helper()
	code, body := p.Get("/checks")
	var page struct {
		Checks []health.CheckStatus `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil {
		t.Fatalf("/checks = %d %v: %s", code, err, body)
	}
	for _, c := range page.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("/checks has no %s: %s", name, body)
	return health.CheckStatus{}
}

// Exec checks under `run` go through the supervisor, whose wait4(-1) would
// otherwise steal their exit status from os/exec.
func TestRunChecks(t *testing.T) {
	forEachMode(t, func(t *testing.T, m runMode) {
		t.Run("exec ok", func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			p := m.start(t, nil, withArgs([]string{"--check=ok=exec:true;period=20ms;timeout=10s"}, signalsChild(dir)...)...)
			p.WaitReady()
			if code, body := p.Get("/readyz?verbose"); code != 200 || !strings.Contains(body, "[+]health ok") || !strings.Contains(body, "[+]supervisor ok") {
				t.Errorf("/readyz?verbose = %d %q", code, body)
			}
			eventually(t, "10 probes", func() bool { return getCheck(t, p, "ok").Probes >= 10 })
			if got := getCheck(t, p, "ok").Target; got != "exec:true" {
				t.Errorf("/checks target = %q, want exec:true", got)
			}
			if n := metric(t, p, `podkit_health_check_failures_total{check="ok"}`); n != 0 {
				t.Errorf("exec:true failed %v times: %+v", n, getCheck(t, p, "ok"))
			}
			p.Stop()
		})
		t.Run("exec hangs", func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			p := m.start(t, nil, withArgs([]string{
				"--check=hang=" + execHook("hang", dir) + ";timeout=200ms;period=50ms;failure-threshold=1",
				"--check=live=exec:true;kind=liveness;period=50ms;timeout=10s",
			}, signalsChild(dir)...)...)
			var c health.CheckStatus
			eventually(t, "the hanging check to fail", func() bool { c = getCheck(t, p, "hang"); return c.Status == health.StatusFailing })
			if !strings.Contains(c.LastError, "deadline exceeded") || !strings.Contains(c.LastError, "process group killed") {
				t.Errorf("hang: last error %q", c.LastError)
			}
			client := &http.Client{Timeout: 5 * time.Second}
			resp, err := client.Get(p.AdminURL() + "/healthz")
			if err != nil {
				t.Fatalf("/healthz while a check hangs: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("/healthz = %d while only a readiness check fails", resp.StatusCode)
			}
			if code, body := p.Get("/readyz?verbose"); code != 503 || !strings.Contains(body, "hang") {
				t.Errorf("/readyz?verbose = %d %q", code, body)
			}
			p.Stop()
			if !gone("hang\x00" + dir) {
				t.Errorf("a hanging check's process outlived podkit")
			}
		})
	})
}
