package main

import (
	"github.com/spf13/cobra"

	"github.com/podkit/podkit/internal/cli"
	"github.com/podkit/podkit/internal/daemon"
	"github.com/podkit/podkit/pkg/health"
)

func newHealthCmd(a *app) *cobra.Command {
	var dcfg *daemon.Config
	var cf *checkFlags
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Probe sidecar: HTTP, TCP, gRPC and exec checks behind /healthz, /readyz, /checks and /metrics",
		Long: `health probes the containers of its pod the way the kubelet would and serves
the verdicts on its admin server:

  /healthz  200 unless a liveness check is failing (or a startup check failed
            its failure threshold)
  /readyz   200 once every startup check has passed and every readiness check
            is ok; ?verbose says which checks hold it back
  /checks   JSON detail of every check: status, last error, latency,
            consecutive failures and successes, transition and probe times
  /metrics  podkit_health_check_up, _duration_seconds, _failures_total,
            _transitions_total

Each check runs in its own goroutine on its own period, with its own timeout;
the endpoints read cached state, so a hanging check delays nothing else. Before
their first result, liveness checks count as ok and readiness checks as not
ready, as in Kubernetes. Liveness and readiness checks wait for every startup
check to succeed once; startup checks then stop.`,
		Example: `  podkit health --check 'app=http://127.0.0.1:8080/healthz'
  podkit health --check 'db=tcp://127.0.0.1:5432;period=5s' \
    --check 'api=grpc://127.0.0.1:9090;kind=liveness;failure-threshold=5' \
    --check 'warm=exec:/app/warmed-up;kind=startup;period=2s;failure-threshold=60'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			specs, err := cf.specs()
			if err != nil {
				return err
			}
			dcfg.Logger = a.log
			d, err := daemon.New(*dcfg)
			if err != nil {
				return err
			}
			c, err := health.New(health.Config{
				Checks:   specs,
				Logger:   a.log.With("component", "health"),
				Registry: d.Admin().Registry(),
			})
			if err != nil {
				return err
			}
			c.Mount(d.Admin())
			return d.Run(cmd.Context(), c)
		},
	}
	dcfg = daemon.AddFlags(cmd.Flags(), cli.AdminHealth)
	cf = addCheckFlags(cmd.Flags())
	return cmd
}
