package rules

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder reads the YAML nodes of one file. Each method reports what is
// wrong at the node that is wrong and carries on, so one run finds all.
type decoder struct {
	file string
	f    *findings
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.f.errorf(d.pos(n), format, args...)
}

func (d *decoder) warnf(n *yaml.Node, format string, args ...any) {
	d.f.warnf(d.pos(n), format, args...)
}

// mark and clean tell whether decoding a part found any error, so that
// derived values (a rule id) are only computed from sound input.
func (d *decoder) mark() int           { return len(d.f.errs) }
func (d *decoder) clean(mark int) bool { return len(d.f.errs) == mark }

// resolve follows an alias to its anchored node, so anchors work wherever a
// value does. Errors in it then point at the anchored text, where it is wrong.
// The loop is bounded because the parser can build alias cycles.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; i < 16 && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

// entry is one key: value pair of a mapping.
type entry struct{ key, val *yaml.Node }

// pairs returns the entries of mapping n in order, reporting keys that are
// not plain names or are repeated: YAML leaves repeats to the reader, and a
// silently dropped duplicate would hide half a rule.
func (d *decoder) pairs(n *yaml.Node, what string) ([]entry, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.wrongType(n, what, "a mapping")
		return nil, false
	}
	first := make(map[string]*yaml.Node, len(n.Content)/2)
	var out []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s keys must be plain names, not %s", what, describe(k))
			continue
		}
		if f, dup := first[k.Value]; dup {
			d.errorf(k, "duplicate key %q in %s (first at line %d)", k.Value, what, f.Line)
			continue
		}
		first[k.Value] = k
		out = append(out, entry{k, v})
	}
	return out, true
}

// fields returns the entries of mapping n by key, reporting any key not in
// allowed: a misspelt "prots" must not quietly mean "all ports".
func (d *decoder) fields(n *yaml.Node, what string, allowed ...string) (map[string]entry, bool) {
	es, ok := d.pairs(n, what)
	if !ok {
		return nil, false
	}
	out := make(map[string]entry, len(es))
	for _, e := range es {
		if !slices.Contains(allowed, e.key.Value) {
			d.unknownField(e.key, what, allowed)
			continue
		}
		out[e.key.Value] = e
	}
	return out, true
}

func (d *decoder) unknownField(k *yaml.Node, what string, allowed []string) {
	hint := ""
	if s := closest(k.Value, allowed); s != "" {
		hint = " (did you mean \"" + s + "\"?)"
	}
	d.errorf(k, "unknown field %q in %s%s; allowed: %s", k.Value, what, hint, strings.Join(allowed, ", "))
}

func (d *decoder) wrongType(n *yaml.Node, what, want string) {
	d.errorf(n, "%s must be %s, not %s", what, want, describe(n))
}

// describe names the kind of a node for "must be a list, not a mapping".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "empty"
		case "!!str":
			return "a string"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		}
	}
	return "a " + n.ShortTag() + " value"
}
