package supervisor

import (
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s, err := New(Config{Argv: []string{"app"}, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	s.m.exit(exitOf(exited(2)))
	s.m.forwarded.WithLabelValues("SIGHUP").Inc()
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	n, err := testutil.GatherAndCount(reg)
	if err != nil || n < 15 {
		t.Errorf("%d series gathered (%v)", n, err)
	}
	// Registering twice on one registry fails instead of panicking.
	if _, err := New(Config{Argv: []string{"app"}, Registry: reg}); err == nil || !strings.Contains(err.Error(), "metrics") {
		t.Errorf("second New on the same registry = %v", err)
	}
}

func TestChildCollector(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s, err := New(Config{Argv: []string{"app"}, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	expect := func(want string, names ...string) {
		t.Helper()
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
			t.Error(err)
		}
	}
	expect(`
# HELP podkit_run_child_up 1 while a child runs, 0 otherwise.
# TYPE podkit_run_child_up gauge
podkit_run_child_up 0
`, "podkit_run_child_up", "podkit_run_child_last_exit_code")
	// A "child" that is this process, so /proc has it.
	e := exitOf(killed(9))
	s.setStatus(func(st *Status) { st.PID, st.LastExit = os.Getpid(), &e })
	s.m.exit(e)
	expect(`
# HELP podkit_run_child_up 1 while a child runs, 0 otherwise.
# TYPE podkit_run_child_up gauge
podkit_run_child_up 1
# HELP podkit_run_child_last_exit_code Exit code of the last child that exited, 128+N after death by signal N; absent before the first exit.
# TYPE podkit_run_child_last_exit_code gauge
podkit_run_child_last_exit_code 137
# HELP podkit_run_child_exits_total Child exits; result is success for exit status 0, failure otherwise (death by signal included).
# TYPE podkit_run_child_exits_total counter
podkit_run_child_exits_total{result="failure"} 1
podkit_run_child_exits_total{result="success"} 0
`, "podkit_run_child_up", "podkit_run_child_last_exit_code", "podkit_run_child_exits_total")
}
