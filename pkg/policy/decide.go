package policy

import (
	"net/netip"
	"slices"
	"sort"
	"sync"
)

// Drop reasons the policy itself gives; the datapath uses the same names.
const (
	ReasonUnknownIngress = "unknown_ingress"
	ReasonSpoofedSource  = "spoofed_source"
	ReasonNoRule         = "no_rule"
	ReasonSuspended      = "suspended"
	ReasonNoFlow         = "no_flow" // a first packet on the service side
)

// IP protocol numbers a Query may carry.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// Query is the first packet of a flow, as the datapath sees it.
type Query struct {
	Interface string
	VLAN      uint16
	InnerVLAN uint16
	Src, Dst  netip.Addr
	Proto     uint8  // ProtoTCP, ProtoUDP, ProtoICMP or ProtoICMPv6 (echo request)
	Port      uint16 // destination port; ignored for ICMP
}

// Decision is the verdict for a Query and why.
type Decision struct {
	Verdict Verdict
	Reason  string // when Verdict is Drop
	Org     string // "" when no organisation was identified
	Rule    int    // rule index, -1 when none matched
}

// index holds the lookups Decide needs, built once per Compiled.
type index struct {
	once      sync.Once
	ingresses map[ingressKey3]*Ingress
	sources   map[*Ingress]map[netip.Prefix]int
	dests     []map[netip.Prefix]*Dest
	// Prefix lengths in use, longest first, by family (0: IPv4, 1: IPv6):
	// computed once, as the datapath's are at publish, so that deciding
	// every flow of a large table (cutting flows on apply) stays linear.
	srcLens map[*Ingress][2][]uint8
	dstLens [][2][]uint8
}

func lensOf(prefixes []netip.Prefix) [2][]uint8 {
	return [2][]uint8{Lens(prefixes, 4), Lens(prefixes, 6)}
}

func famIdx(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

type ingressKey3 struct {
	iface       string
	vlan, inner uint16
}

func (c *Compiled) index() *index {
	c.ix.once.Do(func() { c.ix.build(c) })
	return &c.ix
}

func (ix *index) build(c *Compiled) {
	ix.ingresses = map[ingressKey3]*Ingress{}
	ix.sources = map[*Ingress]map[netip.Prefix]int{}
	ix.srcLens = map[*Ingress][2][]uint8{}
	for i := range c.Ingresses {
		in := &c.Ingresses[i]
		ix.ingresses[ingressKey3{in.Interface, in.VLAN, in.InnerVLAN}] = in
		m := map[netip.Prefix]int{}
		for _, s := range in.Sources {
			m[s.Prefix] = s.Org
		}
		ix.sources[in] = m
		ix.srcLens[in] = lensOf(in.SourcePrefixes())
	}
	for i := range c.Rulesets {
		m := map[netip.Prefix]*Dest{}
		for j := range c.Rulesets[i].Dests {
			m[c.Rulesets[i].Dests[j].Prefix] = &c.Rulesets[i].Dests[j]
		}
		ix.dests = append(ix.dests, m)
		ix.dstLens = append(ix.dstLens, lensOf(c.Rulesets[i].DestPrefixes()))
	}
}

// Decide evaluates a flow's first packet with the same lookups, in the same
// order, as the XDP program: ingress, source prefix (longest first), the
// organisation's ruleset, destination prefix (longest first), port range.
func (c *Compiled) Decide(q Query) Decision {
	d := Decision{Verdict: Drop, Rule: -1}
	ix := c.index()
	in := ix.ingresses[ingressKey3{q.Interface, q.VLAN, q.InnerVLAN}]
	if in == nil {
		d.Reason = ReasonUnknownIngress
		if q.VLAN == 0 && q.InnerVLAN == 0 && slices.Contains(c.ServiceSide, q.Interface) {
			d.Reason = ReasonNoFlow // only replies to known flows enter there
		}
		return d
	}
	org, ok := longest(ix.sources[in], ix.srcLens[in][famIdx(q.Src)], q.Src)
	if !ok {
		d.Reason = ReasonSpoofedSource
		return d
	}
	o := c.Orgs[org]
	d.Org, d.Reason = o.ID, ReasonNoRule
	rs := o.Ruleset
	if o.Suspended {
		rs, d.Reason = RemediationRuleset, ReasonSuspended
	}
	r, ok := c.lookup(rs, q)
	if !ok {
		return d
	}
	d.Verdict, d.Reason, d.Rule = c.Rules[r].Verdict, "", r
	return d
}

// lookup finds the rule of ruleset rs for q's destination and port: the
// longest destination prefix, then its port range.
func (c *Compiled) lookup(rs int, q Query) (rule int, ok bool) {
	ix := c.index()
	var dst *Dest
	for _, l := range ix.dstLens[rs][famIdx(q.Dst)] {
		if dst = ix.dests[rs][netip.PrefixFrom(q.Dst, int(l)).Masked()]; dst != nil {
			break
		}
	}
	if dst == nil {
		return -1, false
	}
	r, ok := findPort(dst.Ports[classOf(q.Proto)], portOf(q))
	return r.Rule, ok
}

func longest(m map[netip.Prefix]int, lens []uint8, a netip.Addr) (int, bool) {
	for _, l := range lens {
		if v, ok := m[netip.PrefixFrom(a, int(l)).Masked()]; ok {
			return v, true
		}
	}
	return 0, false
}

func classOf(proto uint8) Class {
	switch proto {
	case ProtoTCP:
		return ClassTCP
	case ProtoUDP:
		return ClassUDP
	}
	return ClassICMP
}

func portOf(q Query) uint16 {
	if classOf(q.Proto) == ClassICMP {
		return 0
	}
	return q.Port
}

func findPort(rs []PortRange, port uint16) (PortRange, bool) {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Hi >= port })
	if i < len(rs) && rs[i].Lo <= port {
		return rs[i], true
	}
	return PortRange{}, false
}
