package benchkit

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Parse parses args into fs. When ok is false the command returns code: 0
// after -h, 2 on a bad flag (fs has printed why).
func Parse(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

// Usage prints err as "NAME: err" to fs's output (the command's stderr)
// and returns 2, the exit code of a usage error.
func Usage(fs *flag.FlagSet, err error) int {
	fmt.Fprintln(fs.Output(), fs.Name()+":", err)
	return 2
}

// Print writes v to w as indented JSON when asJSON, else with table.
func Print(w io.Writer, asJSON bool, v any, table func(io.Writer) error) error {
	if !asJSON {
		return table(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Ints reads a comma-separated list of positive integers, the value of the
// flag flagName ("-conns").
func Ints(flagName, s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: want positive integers, comma-separated (got %q)", flagName, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// Split returns the non-empty comma-separated fields of s, trimmed.
func Split(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Targets reads -targets: names, comma-separated, each one of all.
func Targets(s string, all []string) ([]string, error) {
	names := strings.Split(s, ",")
	for _, n := range names {
		if !slices.Contains(all, n) {
			return nil, fmt.Errorf("-targets: unknown target %q", n)
		}
	}
	return names, nil
}
