package main

import (
	"github.com/spf13/cobra"

	"github.com/podkit/podkit/internal/cli"
	"github.com/podkit/podkit/internal/daemon"
	"github.com/podkit/podkit/pkg/health"
)

func newHealthCmd(a *app) *cobra.Command {
	var dcfg *daemon.Config
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Management API sidecar: /healthz, /readyz and /metrics for any container",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dcfg.Logger = a.log
			d, err := daemon.New(*dcfg)
			if err != nil {
				return err
			}
			c, err := health.New(health.Config{
				Logger:   a.log.With("component", "health"),
				Registry: d.Admin().Registry(),
			})
			if err != nil {
				return err
			}
			return d.Run(cmd.Context(), c)
		},
	}
	dcfg = daemon.AddFlags(cmd.Flags(), cli.AdminHealth)
	return cmd
}
