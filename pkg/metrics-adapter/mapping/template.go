package mapping

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// globRefRE finds references in glob templates. Like statsd_exporter's glob
// formatter it takes the longest run of [a-zA-Z0-9_$] after '$', so "$1_x"
// is a reference to "1_x", which is not a number and expands to nothing.
var globRefRE = regexp.MustCompile(`\$\{?([a-zA-Z0-9_\$]+)\}?`)

// globTemplate expands a glob mapping's name or label value. It is built in
// the same steps as statsd_exporter's formatter (each reference in turn
// replaced everywhere in the text by a %s verb, or by nothing when it is not
// a capture number in range) and expanded with the same printf semantics, so
// its odd cases (a literal '%', overlapping references) come out the same.
type globTemplate struct {
	format string
	refs   []int    // capture index per verb; -1: the whole statsd name
	parts  []string // format split at its %s verbs, when they are all it has
}

func newGlobTemplate(tmpl string, captures int) globTemplate {
	found := globRefRE.FindAllStringSubmatch(tmpl, -1)
	if len(found) == 0 {
		return globTemplate{format: tmpl}
	}
	format := tmpl
	var refs []int
	for _, f := range found {
		n, err := strconv.Atoi(f[1])
		if err != nil || n > captures || n < 0 {
			format = strings.ReplaceAll(format, f[0], "")
			continue
		}
		format = strings.ReplaceAll(format, f[0], "%s")
		refs = append(refs, n-1)
	}
	t := globTemplate{format: format, refs: refs}
	if len(refs) > 0 && strings.Count(format, "%") == len(refs) && strings.Count(format, "%s") == len(refs) {
		t.parts = strings.Split(format, "%s")
	}
	return t
}

func (t *globTemplate) constant() bool { return len(t.refs) == 0 }

// expand fills the template from name; caps holds the start and end offset
// in name of each capture.
func (t *globTemplate) expand(name string, caps []int) string {
	if len(t.refs) == 0 {
		return t.format
	}
	arg := func(i int) string {
		if r := t.refs[i]; r >= 0 {
			return name[caps[2*r]:caps[2*r+1]]
		}
		return name
	}
	if t.parts == nil {
		args := make([]any, len(t.refs))
		for i := range t.refs {
			args[i] = arg(i)
		}
		return fmt.Sprintf(t.format, args...)
	}
	n := 0
	for _, p := range t.parts {
		n += len(p)
	}
	for i := range t.refs {
		n += len(arg(i))
	}
	var b strings.Builder
	b.Grow(n)
	for i, p := range t.parts {
		b.WriteString(p)
		if i < len(t.refs) {
			b.WriteString(arg(i))
		}
	}
	return b.String()
}
