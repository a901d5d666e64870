package gitsync

import "testing"

func TestSparseIncludes(t *testing.T) {
	s, err := parseSparse([]byte("# docs and the top README\n/README.md\ndocs/\n!docs/internal/\nsrc/*.go\n"))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{
		"README.md":          true,
		"sub/README.md":      false,
		"docs/a.md":          true,
		"docs/deep/b.md":     true,
		"docs/internal/x.md": false,
		"src/main.go":        true,
		"src/main_test.c":    false,
		"other/file.txt":     false,
		"docsx/file.txt":     false,
	} {
		if got := s.includes(path); got != want {
			t.Errorf("%s: included=%v, want %v", path, got, want)
		}
	}
}

func TestSparseRejects(t *testing.T) {
	for name, in := range map[string]string{"empty": "# nothing\n\n", "nul": "a\x00b\n"} {
		if _, err := parseSparse([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzSparse(f *testing.F) {
	f.Add([]byte("docs/\n!docs/x\n*.md\n"), "docs/a/b.md")
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		s, err := parseSparse(data)
		if err != nil {
			return
		}
		s.includes(path)
	})
}
