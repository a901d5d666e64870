package deploy

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// services yields services in name order so problems come out stable.
func services(p *types.Project) []types.ServiceConfig {
	var out []types.ServiceConfig
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		out = append(out, p.Services[name])
	}
	return out
}

// checkNetworkModePorts: a service joining another's network namespace has
// no ports of its own to publish; Docker refuses to create it, but only at
// "up" time.
func checkNetworkModePorts(p *types.Project) []Problem {
	var problems []Problem
	for _, s := range services(p) {
		shared := strings.HasPrefix(s.NetworkMode, types.NetworkModeServicePrefix) ||
			strings.HasPrefix(s.NetworkMode, types.NetworkModeContainerPrefix)
		if shared && len(s.Ports) > 0 {
			problems = append(problems, Problem{
				Path: "services." + s.Name + ".ports",
				Msg:  "not allowed with network_mode: " + s.NetworkMode + "; publish them on the service that owns the network namespace",
			})
		}
	}
	return problems
}

// checkHealthyDependencies: waiting for service_healthy on a service without
// a healthcheck fails at "up" time. An image HEALTHCHECK would also do, but
// the examples must not depend on what is inside someone else's image.
func checkHealthyDependencies(p *types.Project) []Problem {
	var problems []Problem
	for _, s := range services(p) {
		for _, dep := range slices.Sorted(maps.Keys(s.DependsOn)) {
			if s.DependsOn[dep].Condition != types.ServiceConditionHealthy {
				continue
			}
			if hc := p.Services[dep].HealthCheck; hc == nil || hc.Disable {
				problems = append(problems, Problem{
					Path: "services." + s.Name + ".depends_on." + dep,
					Msg:  "condition service_healthy but " + dep + " has no healthcheck",
				})
			}
		}
	}
	return problems
}

var numericUser = regexp.MustCompile(`^[0-9]+(:[0-9]+)?$`)

// checkPodkitService mirrors the Kubernetes restricted rules and the
// GOMEMLIMIT rule for compose, which has neither admission control nor a
// downward API to enforce them.
func checkPodkitService(p *types.Project) []Problem {
	var problems []Problem
	for _, s := range services(p) {
		if !isPodkit(s.Image) {
			continue
		}
		bad := func(field, msg string) {
			problems = append(problems, Problem{Path: "services." + s.Name + "." + field, Msg: msg})
		}
		if !s.ReadOnly {
			bad("read_only", "must be true")
		}
		// A numeric user works in a FROM scratch image, which has no
		// /etc/passwd to look names up in.
		if !numericUser.MatchString(s.User) {
			bad("user", `must be numeric, e.g. "65532:65532"`)
		}
		if !slices.Contains(s.CapDrop, "ALL") {
			bad("cap_drop", "must include ALL")
		}
		if !slices.ContainsFunc(s.SecurityOpt, isNoNewPrivileges) {
			bad("security_opt", "must include no-new-privileges:true")
		}
		if !hasMemoryLimit(s) {
			bad("mem_limit", "podkit needs a memory limit (mem_limit or deploy.resources.limits.memory)")
		}
		if v := s.Environment["GOMEMLIMIT"]; v == nil || *v == "" {
			bad("environment.GOMEMLIMIT", "must be set to the memory limit")
		}
	}
	return problems
}

func isNoNewPrivileges(opt string) bool {
	switch opt {
	case "no-new-privileges", "no-new-privileges:true", "no-new-privileges=true":
		return true
	}
	return false
}

func hasMemoryLimit(s types.ServiceConfig) bool {
	if s.MemLimit > 0 {
		return true
	}
	d := s.Deploy
	return d != nil && d.Resources.Limits != nil && d.Resources.Limits.MemoryBytes > 0
}
