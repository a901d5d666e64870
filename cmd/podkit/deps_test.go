package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The product binary must not link test-only or Kubernetes client modules:
// they cost binary size, start time and idle memory in every pod.
func TestBinaryDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/podkit/podkit/cmd/podkit").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps returned %d packages: the check would be vacuous", len(deps))
	}
	forbidden := []string{"k8s.io/", "sigs.k8s.io/", "github.com/compose-spec/", "go.uber.org/goleak",
		"github.com/podkit/podkit/internal/clitest", "github.com/prometheus/client_golang/prometheus/testutil", "testing", "google.golang.org/grpc", "google.golang.org/grpc/"}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f) && strings.HasSuffix(f, "/") {
				t.Errorf("cmd/podkit depends on %s", d)
			}
		}
	}
}
