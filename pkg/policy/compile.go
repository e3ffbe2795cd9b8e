package policy

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"slices"

	"github.com/palisade-psn/palisade/pkg/rules"
)

// entry is one (destination prefix, protocol, port range) of one rule.
type entry struct {
	prefix netip.Prefix
	class  Class
	lo, hi uint16
	rule   int
}

// Compile turns a validated policy into tables. The same policy always
// gives the same tables and digest.
func Compile(p *rules.Policy) *Compiled {
	c := &Compiled{Rulesets: []Ruleset{{}}}
	c.Rulesets[RemediationRuleset] = c.compileRuleset(remediationEntries(c, p))
	for i, o := range p.Orgs {
		org := Org{ID: o.ID, Suspended: o.State == rules.StateSuspended, Ruleset: i + 1}
		if o.Limits != nil {
			l := o.Limits
			org.FlowQuota, org.FragQuota, org.InspectedFlows = l.Flows, l.Fragments, l.InspectedFlows
			org.NewFlowsPerSecond, org.PacketsPerSecond, org.BytesPerSecond = l.NewFlowsPerSecond, l.PacketsPerSecond, l.BytesPerSecond
		}
		c.Orgs = append(c.Orgs, org)
		c.Rulesets = append(c.Rulesets, c.compileRuleset(orgEntries(c, o)))
	}
	c.Ingresses = compileIngresses(p)
	c.Digest = digest(c)
	c.PolicyDigest = c.Digest
	return c
}

func remediationEntries(c *Compiled, p *rules.Policy) []entry {
	var es []entry
	for _, name := range p.Remediation {
		svc := p.Services[name]
		if svc == nil {
			continue // refused by validation; never reached for a loaded policy
		}
		idx := c.addRule(Rule{Name: "remediation/" + name, ID: name, Verdict: Allow, Pos: svc.Pos})
		es = appendEntries(es, svc.To, svc.Ports, idx)
	}
	return es
}

func orgEntries(c *Compiled, o *rules.Organisation) []entry {
	var es []entry
	for _, r := range o.Allow {
		rule := Rule{Name: o.ID + "/" + r.ID, Org: o.ID, ID: r.ID, Verdict: Allow, Inspect: r.Inspect, Pos: r.Pos, Agreement: r.Agreement, Until: r.Until}
		if r.Inspect != nil {
			rule.Verdict = Inspect
			rule.FailOpen = r.Inspect.FailOpen
		}
		es = appendEntries(es, r.To, r.Ports, c.addRule(rule))
	}
	return es
}

func (c *Compiled) addRule(r Rule) int {
	c.Rules = append(c.Rules, r)
	return len(c.Rules) - 1
}

func appendEntries(es []entry, to []netip.Prefix, ports []rules.PortRange, rule int) []entry {
	for _, pfx := range to {
		for _, pr := range ports {
			e := entry{prefix: pfx.Masked(), lo: pr.Lo, hi: pr.Hi, rule: rule}
			switch pr.Proto {
			case rules.ProtoTCP:
				e.class = ClassTCP
			case rules.ProtoUDP:
				e.class = ClassUDP
			default:
				e.class, e.lo, e.hi = ClassICMP, 0, 0
			}
			es = append(es, e)
		}
	}
	return es
}

// compileRuleset folds every destination prefix's covering prefixes into
// it: longer prefixes first, then rule order, first writer of a port wins.
func (c *Compiled) compileRuleset(es []entry) Ruleset {
	byPrefix := map[netip.Prefix][]entry{}
	var prefixes []netip.Prefix
	for _, e := range es {
		if _, ok := byPrefix[e.prefix]; !ok {
			prefixes = append(prefixes, e.prefix)
		}
		byPrefix[e.prefix] = append(byPrefix[e.prefix], e)
	}
	slices.SortFunc(prefixes, comparePrefix)
	lens := map[int][]uint8{4: Lens(prefixes, 4), 6: Lens(prefixes, 6)}
	var rs Ruleset
	for _, p := range prefixes {
		d := Dest{Prefix: p}
		covering := coveringEntries(byPrefix, p, lens[familyOf(p.Addr())])
		for cl := Class(0); cl < numClasses; cl++ {
			d.Ports[cl] = portRanges(covering, cl)
		}
		rs.Dests = append(rs.Dests, d)
	}
	return rs
}

// coveringEntries lists the entries of p and of every shorter prefix
// containing it, longest prefix first, each in rule order.
func coveringEntries(byPrefix map[netip.Prefix][]entry, p netip.Prefix, lens []uint8) []entry {
	var out []entry
	for _, l := range lens {
		if int(l) > p.Bits() {
			continue
		}
		q := netip.PrefixFrom(p.Addr(), int(l)).Masked()
		out = append(out, byPrefix[q]...)
	}
	return out
}

// portRanges builds sorted, disjoint ranges of one class; a port already
// claimed by an earlier entry stays with it.
func portRanges(es []entry, cl Class) []PortRange {
	var out []PortRange
	for _, e := range es {
		if e.class != cl {
			continue
		}
		out = addUncovered(out, PortRange{Lo: e.lo, Hi: e.hi, Rule: e.rule})
	}
	return mergeAdjacent(out)
}

// addUncovered adds the parts of r no range in rs (sorted) covers yet.
func addUncovered(rs []PortRange, r PortRange) []PortRange {
	lo := uint32(r.Lo)
	var add []PortRange
	for _, x := range rs {
		if uint32(x.Hi) < lo || x.Lo > r.Hi {
			continue
		}
		if uint32(x.Lo) > lo {
			add = append(add, PortRange{Lo: uint16(lo), Hi: x.Lo - 1, Rule: r.Rule})
		}
		lo = uint32(x.Hi) + 1
	}
	if lo <= uint32(r.Hi) {
		add = append(add, PortRange{Lo: uint16(lo), Hi: r.Hi, Rule: r.Rule})
	}
	rs = append(rs, add...)
	slices.SortFunc(rs, func(a, b PortRange) int { return cmp.Compare(a.Lo, b.Lo) })
	return rs
}

func mergeAdjacent(rs []PortRange) []PortRange {
	var out []PortRange
	for _, r := range rs {
		if n := len(out); n > 0 && out[n-1].Rule == r.Rule && uint32(out[n-1].Hi)+1 == uint32(r.Lo) {
			out[n-1].Hi = r.Hi
			continue
		}
		out = append(out, r)
	}
	return out
}

// ingressKey is what the datapath keys an ingress on: a double-tagged
// frame on its outer and inner tag both, a single-tagged one on (vlan, 0).
type ingressKey struct {
	iface       string
	vlan, inner uint16
}

func compileIngresses(p *rules.Policy) []Ingress {
	byKey := map[ingressKey]*Ingress{}
	var keys []ingressKey
	for i, o := range p.Orgs {
		for _, in := range o.Ingress {
			k := ingressKey{in.Interface, in.VLAN, in.InnerVLAN}
			if byKey[k] == nil {
				byKey[k] = &Ingress{Interface: in.Interface, VLAN: in.VLAN, InnerVLAN: in.InnerVLAN}
				keys = append(keys, k)
			}
			for _, pfx := range o.Prefixes {
				byKey[k].Sources = append(byKey[k].Sources, Source{Prefix: pfx.Masked(), Org: i})
			}
		}
	}
	slices.SortFunc(keys, func(a, b ingressKey) int {
		return cmp.Or(cmp.Compare(a.iface, b.iface), cmp.Compare(a.vlan, b.vlan), cmp.Compare(a.inner, b.inner))
	})
	out := make([]Ingress, 0, len(keys))
	for _, k := range keys {
		in := byKey[k]
		slices.SortFunc(in.Sources, func(a, b Source) int { return comparePrefix(a.Prefix, b.Prefix) })
		out = append(out, *in)
	}
	return out
}

func comparePrefix(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}

// digest hashes the tables as JSON: maps are absent and slices ordered, so
// the text, and the digest, depend on the policy alone.
func digest(c *Compiled) string {
	b, err := json.Marshal(struct {
		Orgs      []Org
		Ingresses []Ingress
		Rulesets  []Ruleset
		Rules     []Rule
	}{c.Orgs, c.Ingresses, c.Rulesets, c.Rules})
	if err != nil {
		panic("policy: tables do not marshal: " + err.Error()) // plain data: cannot happen
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
