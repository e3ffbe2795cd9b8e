package rules

import (
	"slices"
	"strings"
)

// Org returns the organisation with the id, or nil.
func (p *Policy) Org(id string) *Organisation {
	i, ok := slices.BinarySearchFunc(p.Orgs, id, func(o *Organisation, id string) int {
		return strings.Compare(o.ID, id)
	})
	if !ok {
		return nil
	}
	return p.Orgs[i]
}

// ActiveRules returns the rules that apply to o in its current state: all
// of them while it is active, and only those naming a remediation service
// while it is suspended, so that a red-flagged organisation can still patch
// itself back to compliance. The result is a new slice.
func (p *Policy) ActiveRules(o *Organisation) []Rule {
	if o.State != StateSuspended {
		return slices.Clone(o.Allow)
	}
	var out []Rule
	for _, r := range o.Allow {
		if r.Service != "" && slices.Contains(p.Remediation, r.Service) {
			out = append(out, r)
		}
	}
	return out
}
