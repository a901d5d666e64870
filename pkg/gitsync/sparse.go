package gitsync

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// maxSparseFile bounds --sparse-checkout-file: it is patterns, not data.
const maxSparseFile = 1 << 20

// sparse is a non-cone sparse-checkout pattern list, which is what git-sync
// gives git (core.sparseCheckout with the file as info/sparse-checkout):
// gitignore syntax where a match means "check it out" and "!" excludes
// again. A directory that matches brings everything below it, unless a
// deeper match says otherwise; the last matching pattern wins.
type sparse struct{ patterns []gitignore.Pattern }

func loadSparse(file string) (*sparse, error) {
	if file == "" {
		return nil, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, optErr("sparse-checkout-file", "%v", err)
	}
	return parseSparse(data)
}

func parseSparse(data []byte) (*sparse, error) {
	if len(data) > maxSparseFile {
		return nil, optErr("sparse-checkout-file", "over %d bytes", maxSparseFile)
	}
	s := &sparse{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxSparseFile)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.ContainsRune(line, 0) {
			return nil, optErr("sparse-checkout-file", "line %d: NUL byte", n)
		}
		s.patterns = append(s.patterns, gitignore.ParsePattern(line, nil))
	}
	if err := sc.Err(); err != nil {
		return nil, optErr("sparse-checkout-file", "%v", err)
	}
	if len(s.patterns) == 0 {
		return nil, optErr("sparse-checkout-file", "no patterns: nothing would be checked out")
	}
	return s, nil
}

// includes reports whether the file at path (slash-separated) is checked out.
func (s *sparse) includes(path string) bool {
	if s == nil {
		return true
	}
	parts := strings.Split(path, "/")
	in := false
	for depth := 1; depth <= len(parts); depth++ {
		isDir := depth < len(parts)
		for _, p := range s.patterns {
			switch p.Match(parts[:depth], isDir) {
			case gitignore.Exclude: // matched: in the sparse set
				in = true
			case gitignore.Include: // a "!" pattern matched
				in = false
			}
		}
	}
	return in
}

func (s *sparse) String() string { return fmt.Sprintf("%d patterns", len(s.patterns)) }
