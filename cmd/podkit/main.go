// Command podkit is one static binary of localhost helper daemons, one
// subcommand per container design pattern (Burns & Oppenheimer 2016).
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/podkit/podkit/internal/cli"
)

func main() {
	cli.TuneGC()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := newRootCmd(a)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err != nil && !a.started {
		// cobra rejected the command line before any of our code ran.
		err = &cli.UsageError{Err: err}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd.CommandPath(), err)
		if cli.ExitCode(err) == cli.ExitUsage {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	}
	return cli.ExitCode(err)
}
