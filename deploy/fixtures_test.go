package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestGoodFixtures(t *testing.T) {
	res, err := ValidateTree("testdata/good")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Problems {
		t.Error(p)
	}
	// kustomization.yaml is skipped, everything else is validated.
	want := []string{"compose.yaml", "other.yaml", "pod.yml", "workloads.yaml"}
	if !slices.Equal(res.Files, want) {
		t.Errorf("validated %v, want %v", res.Files, want)
	}
}

// Each directory under testdata/bad breaks exactly one rule.
var badCases = map[string][]string{
	"k8s-unknown-field": {
		`pod.yaml: Pod/bad: unknown field "spec.containers[0].imagePullPolicyy"`,
	},
	"k8s-case-mismatch": {
		`pod.yaml: Pod/bad: unknown field "spec.containers[0].Image"`,
	},
	"k8s-duplicate-key": {
		"pod.yaml: document 1: yaml: unmarshal errors:\n  line 12: key \"image\" already set in map",
	},
	"k8s-unknown-kind": {
		`pod.yaml: Podd/bad: unknown kind "Podd" in apiVersion "v1"`,
	},
	"k8s-init-probe": {
		"pod.yaml: Pod/bad: spec.initContainers[setup].readinessProbe: probes are only allowed on native sidecars (restartPolicy: Always)",
	},
	"k8s-not-restricted": {
		"pod.yaml: Pod/bad: spec.containers[app].securityContext.runAsNonRoot: must be true (on the container or the pod)",
		"pod.yaml: Pod/bad: spec.containers[app].securityContext.allowPrivilegeEscalation: must be false",
		"pod.yaml: Pod/bad: spec.containers[app].securityContext.capabilities.drop: must include ALL",
		"pod.yaml: Pod/bad: spec.containers[app].securityContext.seccompProfile.type: must be RuntimeDefault (on the container or the pod)",
		"pod.yaml: Pod/bad: spec.containers[app].securityContext.readOnlyRootFilesystem: must be true",
	},
	"k8s-seccomp-override": {
		"pod.yaml: Pod/bad: spec.containers[app].securityContext.seccompProfile.type: must be RuntimeDefault (on the container or the pod)",
	},
	"k8s-podkit-no-cpu-request": {
		"pod.yaml: Pod/bad: spec.containers[podkit].resources.requests.cpu: required for podkit",
	},
	"k8s-podkit-no-gomemlimit": {
		"pod.yaml: Pod/bad: spec.containers[podkit].env[GOMEMLIMIT]: must come from valueFrom.resourceFieldRef limits.memory of this container, without a divisor",
	},
	"k8s-podkit-gomemlimit-divisor": {
		"pod.yaml: Pod/bad: spec.containers[podkit].env[GOMEMLIMIT]: must come from valueFrom.resourceFieldRef limits.memory of this container, without a divisor",
	},
	// Only the start: the rest is compose-go's wording, which may change.
	"compose-loader-error": {
		"compose.yaml: validating compose.yaml: services.app.imagee ...",
	},
	"compose-ports-network-mode": {
		"compose.yaml: services.sidecar.ports: not allowed with network_mode: service:app; publish them on the service that owns the network namespace",
	},
	"compose-healthy-without-healthcheck": {
		"compose.yaml: services.app.depends_on.db: condition service_healthy but db has no healthcheck",
	},
	"compose-podkit-not-hardened": {
		"compose.yaml: services.podkit.read_only: must be true",
		`compose.yaml: services.podkit.user: must be numeric, e.g. "65532:65532"`,
		"compose.yaml: services.podkit.cap_drop: must include ALL",
		"compose.yaml: services.podkit.security_opt: must include no-new-privileges:true",
		"compose.yaml: services.podkit.mem_limit: podkit needs a memory limit (mem_limit or deploy.resources.limits.memory)",
		"compose.yaml: services.podkit.environment.GOMEMLIMIT: must be set to the memory limit",
	},
	"compose-podkit-user-name": {
		`compose.yaml: services.podkit.user: must be numeric, e.g. "65532:65532"`,
	},
}

func TestBadFixtures(t *testing.T) {
	dirs, err := os.ReadDir("testdata/bad")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, ok := badCases[d.Name()]; !ok {
			t.Errorf("testdata/bad/%s has no entry in badCases", d.Name())
		}
	}
	for name, want := range badCases {
		t.Run(name, func(t *testing.T) {
			res, err := ValidateTree(filepath.Join("testdata/bad", name))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Files) == 0 {
				t.Fatal("fixture directory has no manifest")
			}
			var got []string
			for _, p := range res.Problems {
				got = append(got, p.String())
			}
			if !matchAll(got, want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

// matchAll compares in order; a want ending in "..." only fixes the start.
func matchAll(got, want []string) bool {
	return slices.EqualFunc(got, want, func(g, w string) bool {
		if prefix, ok := strings.CutSuffix(w, "..."); ok {
			return strings.HasPrefix(g, prefix)
		}
		return g == w
	})
}

func TestCheckLayout(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"complete/pod.yaml", "complete/compose.yaml", "complete/README.md", "partial/pod.yaml", "docs-only/README.md"} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	problems, err := CheckLayout(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	want := []string{"partial/README.md: missing", "partial/compose.yaml: missing"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestIsPodkit(t *testing.T) {
	for ref, want := range map[string]bool{
		"ghcr.io/podkit/podkit:latest":          true,
		"podkit":                                true,
		"registry:5000/team/podkit@sha256:abcd": true,
		"example.com/app:podkit-test":           false,
		"registry:5000/app":                     false,
	} {
		if got := isPodkit(ref); got != want {
			t.Errorf("isPodkit(%q) = %v, want %v", ref, got, want)
		}
	}
}
