package scrape

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Relabel actions, Prometheus's names.
const (
	ActionReplace   = "replace"
	ActionKeep      = "keep"
	ActionDrop      = "drop"
	ActionKeepEqual = "keepequal"
	ActionDropEqual = "dropequal"
	ActionHashMod   = "hashmod"
	ActionLabelMap  = "labelmap"
	ActionLabelDrop = "labeldrop"
	ActionLabelKeep = "labelkeep"
	ActionLowercase = "lowercase"
	ActionUppercase = "uppercase"
)

// relabelRule is a compiled RelabelConfig with Prometheus's defaults.
type relabelRule struct {
	source      []string
	sep         string
	re          *regexp.Regexp // anchored: ^(?s:REGEX)$
	modulus     uint64
	target      string
	replacement string
	action      string
}

// compileRelabel validates rc with Prometheus's rules (model/relabel's
// UnmarshalYAML and Validate).
func compileRelabel(rc *RelabelConfig) (*relabelRule, error) {
	r := &relabelRule{source: rc.SourceLabels, sep: ";", replacement: "$1", action: rc.Action, modulus: rc.Modulus, target: rc.TargetLabel}
	if rc.Separator != nil {
		r.sep = *rc.Separator
	}
	if rc.Replacement != nil {
		r.replacement = *rc.Replacement
	}
	if r.action == "" {
		r.action = ActionReplace
	}
	expr := "(.*)"
	if rc.Regex != nil {
		expr = *rc.Regex
	}
	re, err := regexp.Compile("^(?s:" + expr + ")$")
	if err != nil {
		return nil, fmt.Errorf("regex: invalid %q: %v", expr, err)
	}
	r.re = re
	for _, s := range r.source {
		if !labelNameRE.MatchString(s) {
			return nil, fmt.Errorf("source_labels: %q is not a label name", s)
		}
	}
	switch r.action {
	case ActionReplace, ActionKeep, ActionDrop, ActionKeepEqual, ActionDropEqual, ActionHashMod,
		ActionLabelMap, ActionLabelDrop, ActionLabelKeep, ActionLowercase, ActionUppercase:
	default:
		return nil, fmt.Errorf("action: unknown %q", r.action)
	}
	needsTarget := r.action == ActionReplace || r.action == ActionHashMod || r.action == ActionLowercase ||
		r.action == ActionUppercase || r.action == ActionKeepEqual || r.action == ActionDropEqual
	if needsTarget && r.target == "" {
		return nil, fmt.Errorf("target_label: required with action %s", r.action)
	}
	if (r.action == ActionLowercase || r.action == ActionUppercase || r.action == ActionKeepEqual || r.action == ActionDropEqual) && !labelNameRE.MatchString(r.target) {
		return nil, fmt.Errorf("target_label: %q is not a label name", r.target)
	}
	if r.action == ActionReplace && !strings.Contains(r.target, "$") && !labelNameRE.MatchString(r.target) {
		return nil, fmt.Errorf("target_label: %q is not a label name", r.target)
	}
	if r.action == ActionHashMod && r.modulus == 0 {
		return nil, fmt.Errorf("modulus: required with action hashmod")
	}
	if (r.action == ActionKeepEqual || r.action == ActionDropEqual) && rc.Regex != nil {
		return nil, fmt.Errorf("regex: not allowed with action %s", r.action)
	}
	if r.action == ActionLabelDrop || r.action == ActionLabelKeep {
		if len(rc.SourceLabels) > 0 || rc.TargetLabel != "" || rc.Modulus != 0 || rc.Separator != nil || rc.Replacement != nil {
			return nil, fmt.Errorf("action %s: only regex is allowed", r.action)
		}
	}
	if (r.action == ActionKeep || r.action == ActionDrop) && rc.TargetLabel != "" {
		return nil, fmt.Errorf("target_label: not allowed with action %s", r.action)
	}
	return r, nil
}

// labelSet is a series' labels, __name__ included, sorted by name.
type labelSet []labelPair

type labelPair struct{ name, value string }

func (ls labelSet) get(name string) string {
	for _, l := range ls {
		if l.name == name {
			return l.value
		}
	}
	return ""
}

// set sets or, with an empty value, deletes a label (Prometheus: an empty
// label is no label).
func (ls labelSet) set(name, value string) labelSet {
	i, found := slices.BinarySearchFunc(ls, name, func(l labelPair, n string) int { return strings.Compare(l.name, n) })
	switch {
	case found && value == "":
		return slices.Delete(ls, i, i+1)
	case found:
		ls[i].value = value
	case value != "":
		ls = slices.Insert(ls, i, labelPair{name, value})
	}
	return ls
}

// relabel applies rules in order, as Prometheus's relabel.Process; false:
// drop the series.
func relabel(ls labelSet, rules []*relabelRule) (labelSet, bool) {
	var vals []string
	for _, r := range rules {
		vals = vals[:0]
		for _, s := range r.source {
			vals = append(vals, ls.get(s))
		}
		val := strings.Join(vals, r.sep)
		switch r.action {
		case ActionDrop:
			if r.re.MatchString(val) {
				return nil, false
			}
		case ActionKeep:
			if !r.re.MatchString(val) {
				return nil, false
			}
		case ActionDropEqual:
			if ls.get(r.target) == val {
				return nil, false
			}
		case ActionKeepEqual:
			if ls.get(r.target) != val {
				return nil, false
			}
		case ActionReplace:
			idx := r.re.FindStringSubmatchIndex(val)
			if idx == nil {
				break
			}
			target := string(r.re.ExpandString(nil, r.target, val, idx))
			if !labelNameRE.MatchString(target) {
				break
			}
			res := r.re.ExpandString(nil, r.replacement, val, idx)
			ls = ls.set(target, string(res))
		case ActionLowercase:
			ls = ls.set(r.target, strings.ToLower(val))
		case ActionUppercase:
			ls = ls.set(r.target, strings.ToUpper(val))
		case ActionHashMod:
			sum := md5.Sum([]byte(val))
			mod := binary.BigEndian.Uint64(sum[8:]) % r.modulus
			ls = ls.set(r.target, fmt.Sprint(mod))
		case ActionLabelMap:
			var add labelSet
			for _, l := range ls {
				if r.re.MatchString(l.name) {
					add = append(add, labelPair{r.re.ReplaceAllString(l.name, r.replacement), l.value})
				}
			}
			for _, l := range add {
				ls = ls.set(l.name, l.value)
			}
		case ActionLabelDrop, ActionLabelKeep:
			keep := r.action == ActionLabelKeep
			ls = slices.DeleteFunc(ls, func(l labelPair) bool {
				// __name__ stays: a series needs a name here (Prometheus
				// would fail the sample instead).
				return l.name != "__name__" && r.re.MatchString(l.name) != keep
			})
		}
	}
	return ls, true
}
