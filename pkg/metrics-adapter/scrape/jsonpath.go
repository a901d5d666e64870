package scrape

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// A Template is json_exporter's path syntax, the kubernetes client-go
// jsonpath template: literal text with `{...}` actions, e.g. `planet-{.location}`
// or `{.values[?(@.state == "ACTIVE")]}`. Supported in actions: `$`/`@`,
// `.field` (backslash escapes a dot), `['field']`/`["field"]`, `[n]`,
// `[start:end:step]`, `[n,m]`, `[*]`/`.*`, `..field`, and filters
// `[?(@.x)]`, `[?(@.x OP literal-or-path)]` with == != < > <= >=. `range`,
// `end` and string literals in actions are refused.
type Template struct {
	src   string
	parts []tmplPart
}

type tmplPart struct {
	text  string
	steps []step // nil: text
}

type stepKind uint8

const (
	stepField stepKind = iota
	stepWildcard
	stepRecursive
	stepIndex  // a[i], i may be negative
	stepSlice  // a[start:end:step]
	stepUnion  // [a,b]: each alternative is a single step
	stepFilter // [?(...)]
)

type step struct {
	kind        stepKind
	field       string
	i, j, k     int
	hasI, hasJ  bool
	union       []step
	left, right []step // filter paths
	rightLit    any    // filter literal (string, float64, bool) when right == nil
	op          string // "exists", "==", ...
}

// maxTemplate bounds a template's length and nesting.
const maxTemplate = 4096

// CompileTemplate parses a json_exporter path template.
func CompileTemplate(src string) (*Template, error) {
	if len(src) > maxTemplate {
		return nil, fmt.Errorf("jsonpath: longer than %d bytes", maxTemplate)
	}
	t := &Template{src: src}
	rest := src
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			t.parts = append(t.parts, tmplPart{text: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tmplPart{text: rest[:i]})
		}
		p := &pathParser{s: rest[i+1:]}
		steps, err := p.path(true, 0)
		if err != nil {
			return nil, fmt.Errorf("jsonpath %q: %w", src, err)
		}
		if p.pos >= len(p.s) || p.s[p.pos] != '}' {
			return nil, fmt.Errorf("jsonpath %q: unclosed action", src)
		}
		if steps == nil {
			steps = []step{} // `{$}`, `{@}`, `{.}`: the current value
		}
		t.parts = append(t.parts, tmplPart{steps: steps})
		rest = p.s[p.pos+1:]
	}
	return t, nil
}

// String returns the template's source.
func (t *Template) String() string { return t.src }

// IsLiteral reports whether t has no action (a static label or value).
func (t *Template) IsLiteral() bool {
	for _, p := range t.parts {
		if p.steps != nil {
			return false
		}
	}
	return true
}

type pathParser struct {
	s   string
	pos int
}

func (p *pathParser) errf(format string, a ...any) error {
	return fmt.Errorf("at offset %d: "+format, append([]any{p.pos}, a...)...)
}

// path parses steps until '}' (action) or the end of input (filter side).
func (p *pathParser) path(action bool, depth int) ([]step, error) {
	if depth > 8 {
		return nil, p.errf("filters nested too deep")
	}
	var steps []step
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '}' && action:
			return steps, nil
		case c == ' ' || c == '\t' || c == '$' || c == '@':
			p.pos++
		case strings.HasPrefix(p.s[p.pos:], "[?("):
			st, err := p.filter(depth)
			if err != nil {
				return nil, err
			}
			steps = append(steps, st)
		case strings.HasPrefix(p.s[p.pos:], ".."):
			if len(steps) > 0 && steps[len(steps)-1].kind == stepRecursive {
				return nil, p.errf("invalid multiple recursive descent")
			}
			p.pos += 2
			steps = append(steps, step{kind: stepRecursive})
			if p.pos < len(p.s) && isFieldStart(p.s[p.pos]) {
				steps = append(steps, p.field())
			}
		case c == '.':
			p.pos++
			if st := p.field(); st.kind != stepField || st.field != "" {
				steps = append(steps, st)
			}
		case c == '[':
			st, err := p.bracket()
			if err != nil {
				return nil, err
			}
			steps = append(steps, st)
		case c == '\n' || c == '\r':
			return nil, p.errf("unclosed action")
		case c == '"' || c == '\'':
			return nil, p.errf("string literals are not supported in a path")
		case isFieldStart(c) || c == '-' || c == '+':
			start := p.pos
			for p.pos < len(p.s) && !isTerminator(p.s[p.pos]) {
				p.pos++
			}
			w := p.s[start:p.pos]
			if w == "range" || w == "end" {
				return nil, p.errf("%q is not supported (json_exporter selects lists with [*] or type: object)", w)
			}
			return nil, p.errf("unexpected %q (a field is written .%s)", w, w)
		default:
			return nil, p.errf("unrecognized character %q", c)
		}
	}
	if action {
		return nil, p.errf("unclosed action")
	}
	return steps, nil
}

func isFieldStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// isTerminator is client-go's set of characters that end a field name.
func isTerminator(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '.', ',', '[', ']', '$', '@', '{', '}':
		return true
	}
	return false
}

// field reads a field name after '.'; a backslash escapes the next byte.
func (p *pathParser) field() step {
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '\\' && p.pos+1 < len(p.s) {
			b.WriteByte(p.s[p.pos+1])
			p.pos += 2
			continue
		}
		if isTerminator(c) {
			break
		}
		b.WriteByte(c)
		p.pos++
	}
	if b.String() == "*" {
		return step{kind: stepWildcard}
	}
	return step{kind: stepField, field: b.String()}
}

// bracket parses [...] other than a filter.
func (p *pathParser) bracket() (step, error) {
	end, err := closing(p.s, p.pos+1, ']')
	if err != nil {
		return step{}, p.errf("unterminated array")
	}
	inner := strings.TrimSpace(p.s[p.pos+1 : end])
	p.pos = end + 1
	alts := splitOutsideQuotes(inner, ',')
	if len(alts) > 1 {
		st := step{kind: stepUnion}
		for _, a := range alts {
			u, err := bracketItem(strings.TrimSpace(a))
			if err != nil {
				return step{}, p.errf("%v", err)
			}
			st.union = append(st.union, u)
		}
		return st, nil
	}
	st, err := bracketItem(inner)
	if err != nil {
		return step{}, p.errf("%v", err)
	}
	return st, nil
}

func bracketItem(s string) (step, error) {
	if s == "*" {
		return step{kind: stepWildcard}, nil
	}
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		f, err := unquote(s)
		if err != nil {
			return step{}, fmt.Errorf("invalid quoted field %s", s)
		}
		return step{kind: stepField, field: f}, nil
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return step{}, fmt.Errorf("invalid array index %q", s)
	}
	nums := make([]int, len(parts))
	has := make([]bool, len(parts))
	for i, x := range parts {
		x = strings.TrimSpace(x)
		if x == "" {
			continue
		}
		n, err := strconv.Atoi(x)
		if err != nil || n > math.MaxInt32 || n < math.MinInt32 {
			return step{}, fmt.Errorf("invalid array index %q", s)
		}
		nums[i], has[i] = n, true
	}
	if len(parts) == 1 {
		if !has[0] {
			return step{}, fmt.Errorf("empty array index")
		}
		return step{kind: stepIndex, i: nums[0]}, nil
	}
	st := step{kind: stepSlice, i: nums[0], hasI: has[0], j: nums[1], hasJ: has[1], k: 1}
	if len(parts) == 3 && has[2] {
		if nums[2] <= 0 {
			return step{}, fmt.Errorf("step must be > 0")
		}
		st.k = nums[2]
	}
	return st, nil
}

// closing finds the index of the byte end at or after i, outside quotes.
func closing(s string, i int, end byte) (int, error) {
	var q byte
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0 && c == '\\':
			i++
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '\'' || c == '"':
			q = c
		case c == end:
			return i, nil
		case c == '\n':
			return 0, errors.New("unterminated")
		}
	}
	return 0, errors.New("unterminated")
}

func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	var q byte
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0 && c == '\\':
			i++
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '\'' || c == '"':
			q = c
		case c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unquote is client-go's UnquoteExtend: a "..." or '...' Go-style string.
func unquote(s string) (string, error) {
	n := len(s)
	if n < 2 || s[0] != s[n-1] || (s[0] != '"' && s[0] != '\'') {
		return "", strconv.ErrSyntax
	}
	q := s[0]
	s = s[1 : n-1]
	if !strings.ContainsRune(s, '\\') && !strings.ContainsRune(s, rune(q)) {
		return s, nil
	}
	var b strings.Builder
	for len(s) > 0 {
		c, mb, rest, err := strconv.UnquoteChar(s, q)
		if err != nil {
			return "", err
		}
		s = rest
		if c < 0x80 || !mb {
			b.WriteByte(byte(c))
		} else {
			b.WriteRune(c)
		}
	}
	return b.String(), nil
}

var filterOps = []string{"==", "!=", "<=", ">=", "<", ">"}

// filter parses [?(left OP right)] or [?(path)].
func (p *pathParser) filter(depth int) (step, error) {
	start := p.pos + 3
	end, err := closing(p.s, start, ')')
	// A ')' inside a nested filter: find the ")]" that closes this one.
	for err == nil && !(end+1 < len(p.s) && p.s[end+1] == ']') {
		end, err = closing(p.s, end+1, ')')
	}
	if err != nil {
		return step{}, p.errf("unterminated filter")
	}
	inner := p.s[start:end]
	p.pos = end + 2
	st := step{kind: stepFilter, op: "exists"}
	left, right := inner, ""
	if i, op := findOp(inner); i >= 0 {
		st.op = op
		left, right = inner[:i], strings.TrimSpace(inner[i+len(op):])
	}
	lp := &pathParser{s: left}
	if st.left, err = lp.path(false, depth+1); err != nil {
		return step{}, fmt.Errorf("filter %q: %w", inner, err)
	}
	if st.op == "exists" {
		return st, nil
	}
	switch {
	case right == "":
		return step{}, p.errf("filter %q: nothing to compare with", inner)
	case right[0] == '"' || right[0] == '\'':
		s, err := unquote(right)
		if err != nil {
			return step{}, p.errf("filter %q: invalid string %s", inner, right)
		}
		st.rightLit = s
	case right == "true" || right == "false":
		st.rightLit = right == "true"
	case right[0] == '@' || right[0] == '$' || right[0] == '.':
		rp := &pathParser{s: right}
		if st.right, err = rp.path(false, depth+1); err != nil {
			return step{}, fmt.Errorf("filter %q: %w", inner, err)
		}
		if st.right == nil {
			st.right = []step{}
		}
	default:
		f, err := strconv.ParseFloat(right, 64)
		if err != nil {
			return step{}, p.errf("filter %q: cannot parse %q", inner, right)
		}
		st.rightLit = f
	}
	return st, nil
}

// findOp finds the first comparison operator outside quotes.
func findOp(s string) (int, string) {
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0 && c == '\\':
			i++
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '\'' || c == '"':
			q = c
		case c == '=' || c == '!' || c == '<' || c == '>':
			for _, op := range filterOps {
				if strings.HasPrefix(s[i:], op) {
					return i, op
				}
			}
		}
	}
	return -1, ""
}

// errNotFound is client-go's "x is not found": a field no input had.
type errNotFound string

func (e errNotFound) Error() string { return string(e) + " is not found" }

// eval applies steps to the inputs.
func eval(in []any, steps []step) ([]any, error) {
	var err error
	for i := range steps {
		if in, err = evalStep(in, &steps[i]); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func evalStep(in []any, st *step) ([]any, error) {
	var out []any
	switch st.kind {
	case stepField:
		if len(in) == 0 {
			return nil, nil
		}
		for _, v := range in {
			if m, ok := v.(map[string]any); ok {
				if x, ok := m[st.field]; ok {
					out = append(out, x)
				}
			}
		}
		if len(out) == 0 {
			return nil, errNotFound(st.field)
		}
	case stepWildcard:
		for _, v := range in {
			out = appendChildren(out, v)
		}
	case stepRecursive:
		for _, v := range in {
			out = appendRecursive(out, v, 0)
		}
	case stepIndex, stepSlice:
		for _, v := range in {
			if v == nil {
				continue
			}
			a, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("%s is not array or slice", typeName(v))
			}
			r, err := indexRange(len(a), st)
			if err != nil {
				return nil, err
			}
			for i := r[0]; i < r[1]; i += r[2] {
				out = append(out, a[i])
			}
		}
	case stepUnion:
		for i := range st.union {
			r, err := evalStep(in, &st.union[i])
			if err != nil {
				return nil, err
			}
			out = append(out, r...)
		}
	case stepFilter:
		for _, v := range in {
			a, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("%s is not array or slice and cannot be filtered", typeName(v))
			}
			for _, x := range a {
				if filterMatch(x, st) {
					out = append(out, x)
				}
			}
		}
	}
	return out, nil
}

// indexRange returns [start, end, step) for an index or slice, client-go's
// bounds checks included.
func indexRange(n int, st *step) ([3]int, error) {
	if st.kind == stepIndex {
		i := st.i
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			return [3]int{}, fmt.Errorf("array index out of bounds: index %d, length %d", st.i, n)
		}
		return [3]int{i, i + 1, 1}, nil
	}
	i, j := 0, n
	if st.hasI {
		i = st.i
		if i < 0 {
			i += n
		}
	}
	if st.hasJ {
		j = st.j
		if j < 0 {
			j += n
		}
	}
	if i == j {
		return [3]int{0, 0, 1}, nil
	}
	if i < 0 || i >= n || j < 0 || j > n {
		return [3]int{}, fmt.Errorf("array index out of bounds: [%d:%d], length %d", i, j, n)
	}
	if i > j {
		return [3]int{}, fmt.Errorf("starting index %d is greater than ending index %d", i, j)
	}
	return [3]int{i, j, st.k}, nil
}

func appendChildren(out []any, v any) []any {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			out = append(out, x[k])
		}
	case []any:
		out = append(out, x...)
	}
	return out
}

// appendRecursive adds v and every container below it, as client-go's `..`
// (the next step then selects from them).
func appendRecursive(out []any, v any, depth int) []any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return out
		}
		out = append(out, v)
		for _, k := range sortedKeys(x) {
			out = appendRecursive(out, x[k], depth+1)
		}
	case []any:
		if len(x) == 0 {
			return out
		}
		out = append(out, v)
		for _, c := range x {
			out = appendRecursive(out, c, depth+1)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func filterMatch(x any, st *step) bool {
	lefts, err := eval([]any{x}, st.left)
	if st.op == "exists" {
		return err == nil && len(lefts) > 0
	}
	// client-go fails the whole path when an element lacks the field or
	// two results are compared; here such an element does not match.
	if err != nil || len(lefts) != 1 {
		return false
	}
	right := st.rightLit
	if st.right != nil {
		rights, err := eval([]any{x}, st.right)
		if err != nil || len(rights) != 1 {
			return false
		}
		right = rights[0]
	}
	return compare(lefts[0], right, st.op)
}

// compare compares two scalars of one kind; numbers compare as numbers
// whatever their spelling (client-go refuses float64 against an integer
// literal: `@.count > 1` fails there, `> 1.0` works).
func compare(a, b any, op string) bool {
	var c int
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		if !ok {
			return op == "!="
		}
		switch {
		case x < y:
			c = -1
		case x > y:
			c = 1
		case x != y: // NaN cannot come from JSON; a literal "NaN" can
			return op == "!="
		}
	case string:
		y, ok := b.(string)
		if !ok {
			return op == "!="
		}
		c = strings.Compare(x, y)
	case bool:
		y, ok := b.(bool)
		if !ok {
			return op == "!="
		}
		switch op {
		case "==":
			return x == y
		case "!=":
			return x != y
		}
		return false
	default:
		return false
	}
	switch op {
	case "==":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case ">":
		return c > 0
	case "<=":
		return c <= 0
	case ">=":
		return c >= 0
	}
	return false
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// Execute evaluates t on a decoded JSON document (encoding/json's any) and
// returns the text client-go's jsonpath prints: literal text, each action's
// results separated by a space (objects and arrays as compact JSON, null as
// "null"), then, as json_exporter does, unquoted if the whole text is a
// quoted string.
func (t *Template) Execute(doc any) (string, error) {
	var b strings.Builder
	for i := range t.parts {
		p := &t.parts[i]
		if p.steps == nil {
			b.WriteString(p.text)
			continue
		}
		res, err := eval([]any{doc}, p.steps)
		if err != nil {
			return "", err
		}
		for j, r := range res {
			if j > 0 {
				b.WriteByte(' ')
			}
			writeText(&b, r)
		}
	}
	s := b.String()
	if u, err := unquote(s); err == nil {
		return u, nil
	}
	return s, nil
}

// Select evaluates t's single action and returns its results (type object's
// list of objects); literal text is refused.
func (t *Template) Select(doc any) ([]any, error) {
	var out []any
	for i := range t.parts {
		p := &t.parts[i]
		if p.steps == nil {
			if strings.TrimSpace(p.text) != "" {
				return nil, fmt.Errorf("literal text %q in an object path", p.text)
			}
			continue
		}
		res, err := eval([]any{doc}, p.steps)
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
	}
	return out, nil
}

func writeText(b *strings.Builder, v any) {
	switch x := v.(type) {
	case string:
		b.WriteString(x)
	case float64:
		fmt.Fprint(b, x) // client-go prints with %v: 1e+21, 1.5e-07
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case nil:
		b.WriteString("null")
	default:
		j, _ := json.Marshal(x)
		b.Write(j)
	}
}
