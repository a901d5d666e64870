package deploy

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

func checkPodSpec(spec *corev1.PodSpec, prefix string) []Problem {
	var problems []Problem
	problems = append(problems, checkInitProbes(spec, prefix)...)
	problems = append(problems, checkRestricted(spec, prefix)...)
	problems = append(problems, checkPodkitResources(spec, prefix)...)
	return problems
}

type container struct {
	c    *corev1.Container
	path string
}

func allContainers(spec *corev1.PodSpec, prefix string) []container {
	var out []container
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		out = append(out, container{c, fmt.Sprintf("%s.initContainers[%s]", prefix, c.Name)})
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		out = append(out, container{c, fmt.Sprintf("%s.containers[%s]", prefix, c.Name)})
	}
	return out
}

// checkInitProbes catches what strict decoding cannot: the API server
// rejects probes on an init container unless it is a native sidecar, which
// runs for the pod's lifetime and so can meaningfully be probed.
func checkInitProbes(spec *corev1.PodSpec, prefix string) []Problem {
	var problems []Problem
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			continue
		}
		probes := []struct {
			name  string
			probe *corev1.Probe
		}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}}
		for _, p := range probes {
			if p.probe != nil {
				problems = append(problems, Problem{
					Path: fmt.Sprintf("%s.initContainers[%s].%s", prefix, c.Name, p.name),
					Msg:  "probes are only allowed on native sidecars (restartPolicy: Always)",
				})
			}
		}
	}
	return problems
}

// checkRestricted requires the restricted Pod Security Standard's container
// fields, plus a read-only root filesystem, on every container: examples get
// copied verbatim into namespaces that enforce restricted.
func checkRestricted(spec *corev1.PodSpec, prefix string) []Problem {
	pod := spec.SecurityContext
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	var problems []Problem
	for _, ct := range allContainers(spec, prefix) {
		sc := ct.c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		bad := func(field, msg string) {
			problems = append(problems, Problem{Path: ct.path + ".securityContext." + field, Msg: msg})
		}
		if !isTrue(firstNonNil(sc.RunAsNonRoot, pod.RunAsNonRoot)) {
			bad("runAsNonRoot", "must be true (on the container or the pod)")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			bad("allowPrivilegeEscalation", "must be false")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			bad("capabilities.drop", "must include ALL")
		}
		// Localhost profiles are also restricted-clean, but they need a file
		// on every node, which an example cannot ship.
		seccomp := firstNonNil(sc.SeccompProfile, pod.SeccompProfile)
		if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
			bad("seccompProfile.type", "must be RuntimeDefault (on the container or the pod)")
		}
		if !isTrue(sc.ReadOnlyRootFilesystem) {
			bad("readOnlyRootFilesystem", "must be true")
		}
	}
	return problems
}

// checkPodkitResources: podkit is a Go binary sharing the pod with the app,
// so it needs requests to be scheduled fairly, a memory limit so it cannot
// starve the app, and GOMEMLIMIT set to that limit so the Go GC works to
// stay under it instead of being OOM-killed.
func checkPodkitResources(spec *corev1.PodSpec, prefix string) []Problem {
	var problems []Problem
	for _, ct := range allContainers(spec, prefix) {
		c := ct.c
		if !isPodkit(c.Image) {
			continue
		}
		res := c.Resources
		for _, need := range []struct {
			list corev1.ResourceList
			name corev1.ResourceName
			path string
		}{
			{res.Requests, corev1.ResourceCPU, "resources.requests.cpu"},
			{res.Requests, corev1.ResourceMemory, "resources.requests.memory"},
			{res.Limits, corev1.ResourceMemory, "resources.limits.memory"},
		} {
			if _, ok := need.list[need.name]; !ok {
				problems = append(problems, Problem{Path: ct.path + "." + need.path, Msg: "required for podkit"})
			}
		}
		if !hasGOMEMLIMIT(c) {
			problems = append(problems, Problem{
				Path: ct.path + ".env[GOMEMLIMIT]",
				Msg:  "must come from valueFrom.resourceFieldRef limits.memory of this container, without a divisor",
			})
		}
	}
	return problems
}

func hasGOMEMLIMIT(c *corev1.Container) bool {
	for _, e := range c.Env {
		if e.Name != "GOMEMLIMIT" {
			continue
		}
		if e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil {
			return false
		}
		ref := e.ValueFrom.ResourceFieldRef
		// A divisor other than 1 yields a bare number of Mi or Gi that Go
		// would read as bytes.
		return ref.Resource == "limits.memory" &&
			(ref.ContainerName == "" || ref.ContainerName == c.Name) &&
			(ref.Divisor.IsZero() || ref.Divisor.Value() == 1)
	}
	return false
}

func firstNonNil[T any](ps ...*T) *T {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

func isTrue(b *bool) bool { return b != nil && *b }
