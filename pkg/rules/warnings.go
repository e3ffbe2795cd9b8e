package rules

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// warnShadowed reports a rule that an earlier rule of the same organisation
// already allows in full: it can never be the rule that decides, so its
// counters stay at zero and its id never shows in a flow log.
func (l *loader) warnShadowed() {
	for _, src := range l.orgs {
		rules := src.org.Allow
		for j := range rules {
			for i := range j {
				if !ruleCovers(&rules[i], &rules[j]) {
					continue
				}
				l.f.warnf(rules[j].Pos, "rule %q is shadowed by rule %q (line %d), which already allows all its destinations and ports",
					rules[j].ID, rules[i].ID, rules[i].Pos.Line)
				break
			}
		}
	}
}

// ruleCovers reports whether rule a allows everything rule b does. A rule
// that inspects covers only rules that inspect the same way: the names it
// checks narrow what it allows.
func ruleCovers(a, b *Rule) bool {
	if len(b.To) == 0 || len(b.Ports) == 0 {
		return false
	}
	if a.Inspect != nil && !a.Inspect.equal(b.Inspect) {
		return false
	}
	for _, t := range b.To {
		if !anyPrefixCovers(a.To, t) {
			return false
		}
	}
	merged := mergedPorts(a.Ports)
	for _, p := range b.Ports {
		if !anyRangeContains(merged, p) {
			return false
		}
	}
	return true
}

func anyPrefixCovers(ps []netip.Prefix, t netip.Prefix) bool {
	for _, p := range ps {
		if covers(p, t) {
			return true
		}
	}
	return false
}

func anyRangeContains(rs []PortRange, p PortRange) bool {
	for _, r := range rs {
		if r.Contains(p) {
			return true
		}
	}
	return false
}

// warnOwnPrefixes reports destinations inside the organisation's own
// source prefixes: its own hosts sit behind the same ingress, so such
// traffic should never reach the gateway, and the rule is likely a typo.
func (l *loader) warnOwnPrefixes() {
	for _, src := range l.orgs {
		for i, r := range src.org.Allow {
			for k, t := range r.To {
				own := indexOverlap(src.org.Prefixes, t)
				switch {
				case own < 0:
				case r.Service != "":
					l.f.warnf(src.rules[i].service, "service %q destination %s overlaps the organisation's own prefix %s",
						r.Service, t, src.org.Prefixes[own])
				default:
					l.f.warnf(src.rules[i].to[k], "destination %s overlaps the organisation's own prefix %s",
						t, src.org.Prefixes[own])
				}
			}
		}
	}
}

// warnSharedIngress reports organisations sharing an ingress (one interface
// and one VLAN, or both untagged), at each one's ingress entry. There the
// datapath tells them apart by source address alone, which a host chooses:
// a host of one can send from another's registered prefixes and pass as
// it. Only a VLAN each separates them on the wire.
func (l *loader) warnSharedIngress() {
	on := map[ingressKey][]sharer{}
	for _, src := range l.orgs {
		for _, in := range src.org.Ingress {
			k := keyOf(in)
			on[k] = append(on[k], sharer{src.org.ID, in.Pos})
		}
	}
	for k, sharers := range on {
		if len(sharers) < 2 {
			continue
		}
		for i, s := range sharers {
			l.f.warnf(s.at, "ingress %s is shared with %s: identity on it rests on source addresses alone, "+
				"so a host of one organisation can send from another's registered prefixes; a VLAN each would isolate them",
				k, othersThan(sharers, i))
		}
	}
}

// sharer is an organisation on an ingress, and where it says so.
type sharer struct {
	id string
	at Pos
}

// othersThan names the sharers other than sharers[self], the first three
// by id and the rest by count: an ingress may carry hundreds.
func othersThan(sharers []sharer, self int) string {
	const named = 3
	var ids []string
	for i, o := range sharers {
		if i != self && len(ids) < named {
			ids = append(ids, strconv.Quote(o.id))
		}
	}
	if len(sharers) == 2 {
		return "organisation " + ids[0]
	}
	s := "organisations " + strings.Join(ids, ", ")
	if more := len(sharers) - 1 - len(ids); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}
