// Package deploy checks the Kubernetes manifests and compose files under
// examples/ more strictly than kubectl or docker compose would before
// anything runs: it is test-only infrastructure, kept in its own module so
// that k8s.io/api and compose-go never enter the product's dependency graph.
package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Problem is one finding, addressed precisely enough to fix without
// re-running anything.
type Problem struct {
	File   string // relative to the validated tree
	Object string // "Kind/name" for Kubernetes documents, empty for compose
	Path   string // field path inside the object or compose file
	Msg    string
}

func (p Problem) String() string {
	parts := []string{p.File}
	for _, s := range []string{p.Object, p.Path} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(append(parts, p.Msg), ": ")
}

// Result is what ValidateTree saw, so callers can refuse a vacuous pass.
type Result struct {
	Files    []string // every manifest validated, relative to the root
	Problems []Problem
}

// ValidateTree validates every YAML file under root.
func ValidateTree(root string) (Result, error) {
	var res Result
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isYAML(d.Name()) {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		var problems []Problem
		switch {
		case d.Name() == "kustomization.yaml" || d.Name() == "kustomization.yml":
			// Not a resource; kustomize's own build is the right validator.
			return nil
		case isCompose(d.Name()):
			problems = ValidateCompose(path, rel)
		default:
			problems = ValidateKubernetes(path, rel)
		}
		res.Files = append(res.Files, rel)
		res.Problems = append(res.Problems, problems...)
		return nil
	})
	return res, err
}

// CheckLayout requires every directory holding YAML under root to be a
// complete example: the same scenario for both runtimes, plus how to run it.
func CheckLayout(root string) ([]Problem, error) {
	dirs := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && isYAML(d.Name()) {
			dirs[filepath.Dir(path)] = true
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var problems []Problem
	for dir := range dirs {
		rel, _ := filepath.Rel(root, dir)
		for _, want := range []string{"pod.yaml", "compose.yaml", "README.md"} {
			if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
				problems = append(problems, Problem{File: filepath.ToSlash(filepath.Join(rel, want)), Msg: "missing"})
			}
		}
	}
	sortProblems(problems)
	return problems, nil
}

func isYAML(name string) bool {
	ext := filepath.Ext(name)
	return ext == ".yaml" || ext == ".yml"
}

func isCompose(name string) bool {
	return name == "compose.yaml" || name == "compose.yml"
}

// isPodkit reports whether an image reference names podkit, ignoring the
// tag and digest so that e.g. "app:podkit-test" does not count.
func isPodkit(ref string) bool {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return strings.Contains(ref, "podkit")
}

func sortProblems(ps []Problem) {
	slices.SortFunc(ps, func(a, b Problem) int { return strings.Compare(a.String(), b.String()) })
}
