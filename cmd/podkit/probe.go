package main

import (
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/podkit/podkit/internal/cli"
	"github.com/podkit/podkit/pkg/health"
)

func newProbeCmd(a *app) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "probe URL",
		Short: "Exit 0 if URL (http, https, tcp) answers healthy, 1 otherwise: for exec probes and compose healthchecks",
		Long: `probe checks one target once, with Kubernetes probe semantics: HTTP 200-399 is
healthy, redirects are not followed, HTTPS certificates are not verified;
tcp://host:port is healthy when it accepts a connection.

Kubernetes httpGet probes connect to the pod IP, not to 127.0.0.1, and the
podkit image has no shell, curl or wget: point exec probes and compose
healthchecks at podkit's loopback admin server with this command.`,
		Example: `  podkit probe http://127.0.0.1:9701/readyz
  podkit probe --timeout 500ms tcp://127.0.0.1:11211`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout <= 0 {
				return cli.Usagef("timeout", "must be > 0 (got %s)", timeout)
			}
			err := health.Probe(cmd.Context(), args[0], timeout)
			if errors.Is(err, health.ErrBadTarget) {
				return &cli.UsageError{Err: err}
			}
			return err
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", time.Second, "give up and exit 1 after this long")
	return cmd
}
