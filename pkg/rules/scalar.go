package rules

import (
	"gopkg.in/yaml.v3"
)

// str returns the text of a scalar. Any scalar will do, so that an id
// written as 123 is not refused for lacking quotes; only empty is refused.
func (d *decoder) str(n *yaml.Node, what string) (string, bool) {
	n = resolve(n)
	switch {
	case n.Kind != yaml.ScalarNode:
		d.wrongType(n, what, "a string")
		return "", false
	case n.ShortTag() == "!!null" || n.Value == "":
		d.errorf(n, "%s is empty", what)
		return "", false
	}
	return n.Value, true
}

// integer returns the value of an integer scalar; a quoted "101" is a
// string, as YAML says.
func (d *decoder) integer(n *yaml.Node, what string) (int64, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.wrongType(n, what, "an integer")
		return 0, false
	}
	var v int64
	if err := n.Decode(&v); err != nil {
		d.errorf(n, "%s %s is too large", what, n.Value)
		return 0, false
	}
	return v, true
}

// list returns the items of a sequence, aliases resolved. An empty value
// ("to:" with nothing after it) is an empty list; callers that need items
// say so.
func (d *decoder) list(n *yaml.Node, what string) ([]*yaml.Node, bool) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		d.wrongType(n, what, "a list")
		return nil, false
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, it := range n.Content {
		items[i] = resolve(it)
	}
	return items, true
}

// nonEmptyList is list for keys that mean nothing without items; an empty
// list is reported at its key, as the value may not have a position of its own.
func (d *decoder) nonEmptyList(e entry, what, why string) ([]*yaml.Node, bool) {
	items, ok := d.list(e.val, what)
	if ok && len(items) == 0 {
		d.errorf(e.key, "%s is empty; %s", what, why)
		return nil, false
	}
	return items, ok
}

// closest returns the allowed name within two edits of got, for a
// "did you mean" hint, or "" if none is that close.
func closest(got string, allowed []string) string {
	if len(got) > 32 {
		return ""
	}
	best, bestDist := "", 3
	for _, a := range allowed {
		if dist := editDistance(got, a); dist < bestDist {
			best, bestDist = a, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
