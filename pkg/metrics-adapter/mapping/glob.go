package mapping

import (
	"regexp"
	"strings"
)

// node is a state of the glob trie, one trie per metric type as in
// statsd_exporter's FSM: edges are whole dot-separated components, "*" is
// the edge that matches any one component (any bytes but '.', empty too).
type node struct {
	next     map[string]*node
	min, max int       // fewest and most components left on paths through here
	result   *compiled // nil: no mapping ends here
	prio     int       // order of the last glob that ended here
}

func newNode(left int) *node {
	return &node{next: map[string]*node{}, min: left, max: left}
}

// insert adds a glob under root. Like statsd_exporter, a final state that
// already existed (as an earlier glob's final or inner state) keeps its
// result but takes the new priority: a glob after "a.b.c" that is "a.b", or
// a repeated glob, never matches.
func insert(root *node, fields []string, c *compiled, prio int) {
	n := root
	for i, f := range fields {
		left := len(fields) - i - 1
		s, ok := n.next[f]
		if !ok {
			s = newNode(left)
			if left == 0 {
				s.result = c
			}
			n.next[f] = s
		} else {
			s.max = max(s.max, left)
			s.min = min(s.min, left)
		}
		n = s
	}
	n.prio = prio
}

// globSearch holds one match's working state; it lives on Match's stack.
type globSearch struct {
	name    string
	fields  int
	caps    []int // start and end offset in name of each "*" capture
	best    []int
	found   *node
	ordered bool // lowest priority wins; else first found
	back    bool // try "*" after a literal component's path fails
}

func fits(s *node, left int) bool { return left <= s.max && left >= s.min }

// walk visits n's successors for the component starting at pos (component i,
// ncap captures so far). It returns true when the search is over.
func (g *globSearch) walk(n *node, pos, i, ncap int) bool {
	if len(n.next) == 0 {
		return false
	}
	end := strings.IndexByte(g.name[pos:], '.')
	if end < 0 {
		end = len(g.name)
	} else {
		end += pos
	}
	left := g.fields - i - 1
	lit, ok := n.next[g.name[pos:end]]
	if ok && fits(lit, left) {
		if g.step(lit, end, i, ncap) {
			return true
		}
		if !g.back {
			return false
		}
	}
	star, ok := n.next["*"]
	if !ok || !fits(star, left) {
		return false
	}
	g.caps[2*ncap], g.caps[2*ncap+1] = pos, end
	return g.step(star, end, i, ncap+1)
}

func (g *globSearch) step(s *node, end, i, ncap int) bool {
	if i == g.fields-1 {
		if s.result == nil {
			return false
		}
		if !g.ordered {
			g.found = s
			copy(g.best, g.caps)
			return true
		}
		if g.found == nil || s.prio < g.found.prio {
			g.found = s
			copy(g.best, g.caps)
		}
		return false
	}
	return g.walk(s, end+1, i+1, ncap)
}

// needBacktrack reproduces statsd_exporter's test of whether greedy glob
// matching (literal component before "*", no second try) can miss a match
// when glob_disable_ordering is set; with ordering every path is tried.
func needBacktrack(globs []string) bool {
	byLen := map[int][]int{}
	res := make([]*regexp.Regexp, len(globs))
	for i, g := range globs {
		l := strings.Count(g, ".") + 1
		byLen[l] = append(byLen[l], i)
		parts := strings.Split(g, "*")
		for j := range parts {
			parts[j] = regexp.QuoteMeta(parts[j])
		}
		res[i] = regexp.MustCompile("^" + strings.Join(parts, "([^.]*)") + "$")
	}
	for _, group := range byLen {
		if len(group) < 2 {
			continue
		}
		for _, a := range group {
			star := strings.IndexByte(globs[a], '*')
			if star < 0 {
				continue
			}
			need := false
			for _, b := range group {
				if b != a && strings.HasPrefix(globs[b], globs[a][:star]) {
					need = true
				}
			}
			for _, b := range group {
				if b != a && (res[a].MatchString(globs[b]) || res[b].MatchString(globs[a])) {
					need = false
				}
			}
			if need {
				return true
			}
		}
	}
	return false
}
