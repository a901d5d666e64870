package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/podkit/podkit/internal/cli"
)

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print podkit's version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(a.stdout, cli.VersionString())
			return err
		},
	}
}
