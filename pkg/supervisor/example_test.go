package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"

	"github.com/podkit/podkit/pkg/supervisor"
)

func ExampleNew() {
	sup, err := supervisor.New(supervisor.Config{
		Argv:   []string{"sh", "-c", "echo hello from the child; exit 3"},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	// Run returns once the child has exited for good; its output passes
	// through to os.Stdout.
	err = sup.Run(context.Background())
	var ee *supervisor.ExitError
	if errors.As(err, &ee) {
		fmt.Println("exit code", ee.ExitCode())
	}
	// Output:
	// hello from the child
	// exit code 3
}
