package main

import (
	"errors"
	"strings"

	"github.com/spf13/pflag"

	"github.com/podkit/podkit/internal/cli"
	"github.com/podkit/podkit/pkg/health"
)

// checkFlags are the --check flags `podkit health` and `podkit run` share.
type checkFlags struct {
	checks     []string
	expectBody []string
}

const checkUsage = `a check, NAME=TARGET[;key=value]... (repeatable). TARGET: http://… or https://… ` +
	`(200-399 healthy, redirects not followed, TLS not verified), tcp://host:port, ` +
	`grpc://host:port[/service] (grpc.health.v1, SERVING healthy), exec:COMMAND ARGS (no shell; exit 0 healthy). ` +
	`Keys, as Kubernetes probes: kind=liveness|readiness|startup (default readiness), period=10s, timeout=1s, ` +
	`initial-delay=0s, failure-threshold=3, success-threshold=1. ` +
	`Example: 'api=http://127.0.0.1:8080/healthz;kind=liveness;period=5s'. The env var takes one check per line`

// addCheckFlags defines --check and --check-expect-body on fs.
func addCheckFlags(fs *pflag.FlagSet) *checkFlags {
	f := &checkFlags{}
	fs.StringArrayVar(&f.checks, "check", nil, checkUsage)
	fs.StringArrayVar(&f.expectBody, "check-expect-body", nil,
		"[NAME=]REGEX the first 64 KiB of an HTTP check's body must match (repeatable): "+
			"NAME= (a configured check's name) picks one check; without it, every HTTP check without its own")
	return f
}

// specs parses the flags into checks; errors are usage errors naming the
// flag and the check, never quoting a target (it may hold a password).
func (f *checkFlags) specs() ([]health.Spec, error) {
	var specs []health.Spec
	index := map[string]int{}
	for _, text := range f.checks {
		s, err := health.ParseSpec(text)
		if err != nil {
			return nil, usage("check", err)
		}
		if _, dup := index[s.Name]; dup {
			return nil, cli.Usagef("check", "%s: name used twice", s.Name)
		}
		index[s.Name] = len(specs)
		specs = append(specs, s)
	}
	var all string
	for _, v := range f.expectBody {
		name, re, _ := strings.Cut(v, "=")
		if i, ok := index[name]; ok {
			specs[i].ExpectBody = re
			continue
		}
		if all != "" {
			return nil, cli.Usagef("check-expect-body", "more than one REGEX without a check NAME=")
		}
		all = v
	}
	if all != "" {
		for i := range specs {
			if specs[i].ExpectBody == "" && isHTTP(specs[i].Target) {
				specs[i].ExpectBody = all
			}
		}
	}
	for _, s := range specs {
		if err := s.Validate(); err != nil {
			return nil, usage("check-expect-body", err)
		}
	}
	return specs, nil
}

func isHTTP(target string) bool {
	return strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://")
}

func usage(flag string, err error) error {
	var se *health.SpecError
	if errors.As(err, &se) {
		return cli.Usagef(flag, "%s", se.Error())
	}
	return cli.Usagef(flag, "%v", err)
}
