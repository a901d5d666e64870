package deploy

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// ValidateCompose loads a compose file the way docker compose would, minus
// anything that depends on the machine running the test, and runs the
// compose rules on the result. rel names the file in problems.
func ValidateCompose(path, rel string) []Problem {
	project, err := loadCompose(path)
	if err != nil {
		// compose-go names the file by absolute path, which differs per
		// checkout.
		msg := err.Error()
		if abs, absErr := filepath.Abs(path); absErr == nil {
			msg = strings.ReplaceAll(msg, abs, rel)
		}
		return []Problem{{File: rel, Msg: msg}}
	}
	var problems []Problem
	for _, check := range []func(*types.Project) []Problem{
		checkNetworkModePorts,
		checkHealthyDependencies,
		checkPodkitService,
	} {
		for _, p := range check(project) {
			p.File = rel
			problems = append(problems, p)
		}
	}
	return problems
}

func loadCompose(path string) (*types.Project, error) {
	opts, err := cli.NewProjectOptions([]string{path},
		// No OS environment: the result must not depend on who runs the
		// test, and the project name then comes from the directory.
		cli.WithWorkingDirectory(filepath.Dir(path)),
		// env_file entries may name files a user creates before running.
		cli.WithoutEnvironmentResolution,
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}
