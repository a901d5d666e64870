package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// container is one process of the demo pod.
type container struct {
	name      string
	argv      []string
	addr      string            // where it serves: its main or admin page, or memcache
	addrFlag  string            // the runner flag that moves addr, for error messages
	readyPath string            // GET addr+readyPath answers 200 once it is ready; "": addr is memcache, ready once it answers version
	also      []port            // more addresses it listens on
	files     map[string]string // written into the pod volume before it starts, like a mounted ConfigMap
	dirs      []string          // made in the pod volume before it starts, like an emptyDir's mount point
	env       []string          // added to the runner's environment, like a container's env
	setup     func() error      // run before it starts, for what it needs from outside the pod (gitsync's upstream)
	try       []string
	// external: a server outside the pod (in Kubernetes, a memcached of a
	// StatefulSet). It does not share the pod's volume, and it runs as
	// nobody when the demo runs as root, since memcached refuses root.
	external bool
}

// port is a listen address and the runner flag that moves it ("" for a
// port the demo picked free).
type port struct{ addr, flag string }

// url is what the table shows: HTTP, or tcp:// as `podkit probe` takes it.
func (c container) url() string {
	if c.readyPath == "" {
		return "tcp://" + c.addr
	}
	return "http://" + c.addr + "/"
}

// pod lists the demo's containers in start order. Each podkit pattern adds
// its entry here (plus a flag for its address) as it lands.
func pod(cfg config) []container {
	app, run, health := cfg.appAddr, cfg.runAdmin, cfg.healthAdmin
	appCheck := "--check=app=http://" + app + "/healthz;period=2s"
	appArgv := []string{cfg.podkit, "run", "--admin-addr", run, "--log-format", "text", appCheck,
		"--", cfg.self, appMode, "-addr", app}
	appTry := []string{"curl http://" + app + "/work"}
	// Sidecars first, as the kubelet starts native sidecars before the
	// app: the app's first statsd line, log line and request find them.
	var specs []container
	if cfg.mc.bin != "" {
		specs = append(specs, memcacheContainers(cfg)...)
		appArgv = append(appArgv, "-memcache", cfg.mc.listen)
		appTry = append(appTry, "curl http://"+app+"/cache/hello   # twice: a miss, then a hit")
	}
	specs = append(specs, metricsContainer(cfg), logsaverContainer(cfg), gitsyncContainer(cfg))
	appArgv = append(appArgv, "-statsd", cfg.metrics.statsd, "-log-file", appLog, "-site", siteDir)
	return append(specs, []container{
		{
			// The app runs under `podkit run`, as its init: the pod's
			// command would be /podkit/podkit run ... -- app.
			name:      "app",
			argv:      appArgv,
			addr:      app,
			addrFlag:  "-app-addr",
			readyPath: "/healthz",
			also:      []port{{run, "-run-admin"}},
			try: append(appTry,
				"curl http://"+run+"/lifecycle",
				"curl 'http://"+run+"/logs?tail=5'",
				"curl -X POST 'http://"+run+"/lifecycle/signal?name=HUP'",
			),
		},
		{
			name:      "health",
			argv:      []string{cfg.podkit, "health", "--admin-addr", health, "--log-format", "text", appCheck},
			addr:      health,
			addrFlag:  "-health-admin",
			readyPath: "/readyz",
			try: []string{
				"curl http://" + health + "/checks",
				"curl -s http://" + health + "/metrics | grep podkit_health",
			},
		},
	}...)
}

func names(specs []container) []string {
	var n []string
	for _, s := range specs {
		n = append(n, s.name)
	}
	return n
}

// child is a started container.
type child struct {
	container
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd.Wait has returned
}

// start runs s in its own process group, so that a terminal's Ctrl-C reaches
// only the runner, which then stops each container in order and sees how it
// exited, as a container runtime would.
func start(s container, dir string, con *console, exits chan<- *child) (*child, error) {
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	// Like a mounted emptyDir: relative paths of every container meet here.
	cmd.Dir = dir
	if len(s.env) > 0 {
		cmd.Env = append(os.Environ(), s.env...)
	}
	for _, name := range s.dirs {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	for name, text := range s.files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	if s.setup != nil {
		if err := s.setup(); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	w := con.prefixed(s.name)
	cmd.Stdout, cmd.Stderr = w, w // one pipe, so the two streams keep their order
	cmd.SysProcAttr = sysProcAttr()
	if s.external {
		// Not in the pod, so not in its volume (0700, which the nobody
		// user below could not enter anyway).
		cmd.Dir = "/"
		if os.Geteuid() == 0 {
			// Go sets the parent-death signal after changing user, so
			// the process keeps it. 65534: nobody and nogroup.
			cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 65534, Gid: 65534}
		}
	}
	// Don't let a leaked grandchild holding the pipe block Wait.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	c := &child{container: s, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // ProcessState says how it ended
		w.flush()
		close(c.done)
		exits <- c
	}()
	return c, nil
}

// waitReady polls the readiness URL like a kubelet readiness probe.
func (c *child) waitReady(ctx context.Context, timeout time.Duration) error {
	url := "http://" + c.addr + c.readyPath
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	check := func() error { return get200(ctx, client, url) }
	if c.readyPath == "" {
		check = func() error { return memcacheVersion(ctx, c.addr) }
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("%s exited during startup (%s); its log is above", c.name, exitText(c.cmd.ProcessState))
		case <-deadline.C:
			return fmt.Errorf("%s not ready after %s: %v", c.name, timeout, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// memcacheVersion is a memcache server's readiness check: it answers.
func memcacheVersion(ctx context.Context, addr string) error {
	m, err := mcDial(ctx, addr)
	if err != nil {
		return err
	}
	defer m.Close()
	_, err = m.version()
	return err
}

func get200(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// stopAll sends SIGTERM to every container at once and gives them grace in
// total; stragglers get SIGKILL for their whole process group. It reports
// whether every container exited 0.
func stopAll(children []*child, grace time.Duration, con *console) bool {
	for _, c := range children {
		// os.Process uses a pidfd where it can, so this cannot hit a
		// recycled pid; an error just means it has already exited.
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	ok := true
	for _, c := range children {
		select {
		case <-c.done:
		case <-ctx.Done():
			select {
			case <-c.done: // exited just in time: its group id may be reused
			default:
				con.printf("==> %s still running after %s: SIGKILL to its process group\n", c.name, grace)
				_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
				<-c.done
			}
		}
		con.printf("==> %s: %s\n", c.name, exitText(c.cmd.ProcessState))
		ok = ok && c.cmd.ProcessState.Success()
	}
	return ok
}

// exitText is "exit N", or how the process died when no code exists.
func exitText(ps *os.ProcessState) string {
	if ps == nil {
		return "not exited"
	}
	if code := ps.ExitCode(); code >= 0 {
		return fmt.Sprintf("exit %d", code)
	}
	return ps.String()
}
