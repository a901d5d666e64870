package publish

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Mode is the kind of a snapshot entry, the four kinds a git tree holds
// (submodule gitlinks are published as directories by the caller).
type Mode uint8

const (
	Regular    Mode = iota + 1 // git mode 100644
	Executable                 // git mode 100755
	Symlink                    // git mode 120000; Entry.Target is the link text
	Dir                        // an (empty) directory; parents are created implicitly
)

func (m Mode) String() string {
	switch m {
	case Regular:
		return "regular"
	case Executable:
		return "executable"
	case Symlink:
		return "symlink"
	case Dir:
		return "dir"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// Entry is one path of a snapshot.
type Entry struct {
	Path string // slash-separated, relative, clean: see ValidPath
	Mode Mode
	// Size is the content length of a Regular or Executable file; the
	// bytes Open yields must match it.
	Size int64
	// Hash is a stable content id (a git blob id). Two entries with the same
	// Path, Mode and Hash are taken to have the same content; that is what
	// lets Publish hard-link a file from the previous worktree.
	Hash string
	// Open returns the content of a Regular or Executable file. It is only
	// called for files that could not be linked from the previous worktree,
	// during Publish, and never concurrently with another Open or read of
	// the content, though not necessarily on Publish's goroutine.
	Open func() (io.ReadCloser, error)
	// Target is the link text of a Symlink. It is not confined: like git, a
	// symlink may point anywhere, and readers follow it at their own risk.
	// Publish never writes through a symlink (entries below one are refused).
	Target string
}

// Snapshot is the full content of one worktree. Order does not matter.
type Snapshot []Entry

// ErrInvalidPath is wrapped by errors about entry paths and worktree names.
var ErrInvalidPath = errors.New("invalid path")

// ValidPath reports whether p may name an entry: non-empty, slash-separated,
// relative, already clean (no "", "." or ".." elements, no trailing slash), no
// NUL or backslash, and no ".git" element (a worktree's .git belongs to git,
// and git itself refuses such tree entries). Any p it accepts stays inside the
// directory it is joined to.
func ValidPath(p string) error {
	if p == "" {
		return fmt.Errorf("%w: empty", ErrInvalidPath)
	}
	if len(p) > 4096 {
		return fmt.Errorf("%w: longer than 4096 bytes", ErrInvalidPath)
	}
	if strings.ContainsAny(p, "\x00\\") {
		return fmt.Errorf("%w: %q: contains NUL or backslash", ErrInvalidPath, p)
	}
	if p[0] == '/' {
		return fmt.Errorf("%w: %q: absolute", ErrInvalidPath, p)
	}
	for elem := range strings.SplitSeq(p, "/") {
		switch {
		case elem == "" || elem == "." || elem == "..":
			return fmt.Errorf("%w: %q: element %q", ErrInvalidPath, p, elem)
		case strings.EqualFold(elem, ".git"):
			return fmt.Errorf("%w: %q: .git element", ErrInvalidPath, p)
		}
	}
	if path.Clean(p) != p { // belt and braces: the loop above implies this
		return fmt.Errorf("%w: %q: not clean", ErrInvalidPath, p)
	}
	return nil
}

// validName checks a worktree name: one path element, not hidden (names
// starting with "." are reserved for the publisher's own files).
func validName(name string) error {
	if err := ValidPath(name); err != nil {
		return err
	}
	if strings.Contains(name, "/") || name[0] == '.' {
		return fmt.Errorf("%w: worktree name %q: must be one element not starting with '.'", ErrInvalidPath, name)
	}
	return nil
}

// validate checks every entry and the shape of the snapshot: no duplicate
// paths and nothing below a file or symlink (which would write through a
// symlink, or fail half-way).
func (s Snapshot) validate() error {
	kinds := make(map[string]Mode, len(s))
	for i := range s {
		e := &s[i]
		if err := ValidPath(e.Path); err != nil {
			return err
		}
		switch e.Mode {
		case Regular, Executable:
			if e.Open == nil {
				return fmt.Errorf("%w: %q: file without Open", ErrInvalidPath, e.Path)
			}
			if e.Size < 0 {
				return fmt.Errorf("%w: %q: negative size", ErrInvalidPath, e.Path)
			}
		case Symlink:
			if e.Target == "" || strings.ContainsRune(e.Target, 0) {
				return fmt.Errorf("%w: %q: empty symlink target or NUL", ErrInvalidPath, e.Path)
			}
		case Dir:
		default:
			return fmt.Errorf("%w: %q: unknown mode %v", ErrInvalidPath, e.Path, e.Mode)
		}
		if _, dup := kinds[e.Path]; dup {
			return fmt.Errorf("%w: %q: duplicate", ErrInvalidPath, e.Path)
		}
		kinds[e.Path] = e.Mode
	}
	for i := range s {
		p := s[i].Path
		for j := strings.LastIndexByte(p, '/'); j > 0; j = strings.LastIndexByte(p[:j], '/') {
			if m, ok := kinds[p[:j]]; ok && m != Dir {
				return fmt.Errorf("%w: %q: below %v %q", ErrInvalidPath, p, m, p[:j])
			}
		}
	}
	return nil
}

// parentDir is path.Dir for a valid entry path, but "" for the top level.
func parentDir(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

func baseName(p string) string {
	return p[strings.LastIndexByte(p, '/')+1:]
}
