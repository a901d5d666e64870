package main

import (
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/podkit/podkit/internal/cli"
)

// app carries what every subcommand shares once the root has parsed its flags.
type app struct {
	stdout, stderr io.Writer
	logFormat      string
	logLevel       string
	log            *slog.Logger
	started        bool // our code ran: later errors are not cobra's usage errors
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "podkit",
		Short: "Reusable containers for distributed systems patterns, in one static binary",
		Long: `podkit is one static binary of localhost helper daemons. Each subcommand is one
container pattern from "Design patterns for container-based distributed systems"
(Burns & Oppenheimer, 2016), meant to run as an extra container in a Kubernetes
Pod or a compose project.

Every flag can also be set as PODKIT_<FLAG> (dashes to underscores, upper case);
flags win over the environment.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.started = true
			if err := cli.BindEnv(cmd, nil); err != nil {
				return err
			}
			log, err := cli.NewLogger(a.stderr, a.logFormat, a.logLevel)
			if err != nil {
				return err
			}
			a.log = log.With("cmd", cmd.Name())
			slog.SetDefault(a.log)
			return nil
		},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &cli.UsageError{Err: err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.logFormat, "log-format", "text", "log format: json or text (logs go to stderr)")
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")

	root.AddGroup(
		&cobra.Group{ID: "patterns", Title: "Patterns:"},
		&cobra.Group{ID: "tools", Title: "Tools:"},
	)
	for _, c := range []*cobra.Command{newHealthCmd(a), newRunCmd(a), newMemcacheProxyCmd(a), newMetricsAdapterCmd(a), newLogsaverCmd(a), newGitsyncCmd(a)} {
		c.GroupID = "patterns"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{newProbeCmd(a), newInstallCmd(a), newVersionCmd(a)} {
		c.GroupID = "tools"
		root.AddCommand(c)
	}
	root.SetHelpCommandGroupID("tools")
	root.SetCompletionCommandGroupID("tools")
	cli.AnnotateEnv(root)
	return root
}
