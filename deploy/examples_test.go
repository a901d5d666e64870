package deploy

import (
	"path"
	"testing"
)

func TestExamples(t *testing.T) {
	res, err := ValidateTree("examples")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Problems {
		t.Error(p)
	}

	// Guard against a walk that silently finds nothing.
	seen := map[string]bool{}
	for _, f := range res.Files {
		seen[path.Base(f)] = true
	}
	for _, want := range []string{"pod.yaml", "compose.yaml"} {
		if !seen[want] {
			t.Errorf("no %s found under examples/ (validated %v)", want, res.Files)
		}
	}

	layout, err := CheckLayout("examples")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range layout {
		t.Error(p)
	}
}
