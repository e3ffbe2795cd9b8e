package policy

import (
	"fmt"
	"net/netip"
	"slices"
)

// flowChanges compares what one organisation may reach before and after.
// Every destination prefix either policy names is probed at its first
// address; within it, ports are cut at every range boundary of both, so
// each piece has one verdict in each policy.
func flowChanges(org string, oldC, newC *Compiled) []FlowChange {
	oldRS, newRS := oldC.effective(org), newC.effective(org)
	var prefixes []netip.Prefix
	seen := map[netip.Prefix]bool{}
	for _, side := range []struct {
		c  *Compiled
		rs int
	}{{oldC, oldRS}, {newC, newRS}} {
		if side.rs < 0 {
			continue
		}
		for _, pfx := range side.c.Rulesets[side.rs].DestPrefixes() {
			if !seen[pfx] {
				seen[pfx] = true
				prefixes = append(prefixes, pfx)
			}
		}
	}
	slices.SortFunc(prefixes, comparePrefix)
	var out []FlowChange
	for _, pfx := range prefixes {
		od, nd := oldC.destAt(oldRS, pfx.Addr()), newC.destAt(newRS, pfx.Addr())
		for cl := Class(0); cl < numClasses; cl++ {
			out = append(out, portChanges(org, pfx, cl, oldC, od, newC, nd)...)
		}
	}
	return out
}

func portChanges(org string, pfx netip.Prefix, cl Class, oldC *Compiled, od *Dest, newC *Compiled, nd *Dest) []FlowChange {
	var olds, news []PortRange
	if od != nil {
		olds = od.Ports[cl]
	}
	if nd != nil {
		news = nd.Ports[cl]
	}
	type block struct {
		lo, hi   uint16
		was, now string
	}
	var blocks []block
	for _, seg := range segments(olds, news) {
		was, now := verdictText(oldC, olds, seg[0]), verdictText(newC, news, seg[0])
		if was == now {
			continue
		}
		if n := len(blocks); n > 0 && blocks[n-1].hi+1 == seg[0] && blocks[n-1].was == was && blocks[n-1].now == now {
			blocks[n-1].hi = seg[1]
			continue
		}
		blocks = append(blocks, block{seg[0], seg[1], was, now})
	}
	out := make([]FlowChange, 0, len(blocks))
	for _, b := range blocks {
		out = append(out, FlowChange{Org: org, Dest: pfx.String(), Ports: portText(cl, b.lo, b.hi), Was: b.was, Now: b.now})
	}
	return out
}

// segments cuts 0-65535 at every boundary of both range lists; each
// segment is [lo, hi].
func segments(a, b []PortRange) [][2]uint16 {
	cuts := []uint32{0, 65536}
	for _, r := range append(slices.Clone(a), b...) {
		cuts = append(cuts, uint32(r.Lo), uint32(r.Hi)+1)
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	var out [][2]uint16
	for i := 0; i+1 < len(cuts); i++ {
		out = append(out, [2]uint16{uint16(cuts[i]), uint16(cuts[i+1] - 1)})
	}
	return out
}

func verdictText(c *Compiled, rs []PortRange, port uint16) string {
	r, ok := findPort(rs, port)
	if !ok {
		return "drop"
	}
	rule := c.Rules[r.Rule]
	return rule.Verdict.String() + " by " + rule.Name
}

func portText(cl Class, lo, hi uint16) string {
	switch {
	case cl == ClassICMP:
		return "icmp"
	case lo == hi:
		return fmt.Sprintf("%d/%s", lo, className(cl))
	}
	return fmt.Sprintf("%d-%d/%s", lo, hi, className(cl))
}

func className(cl Class) string {
	if cl == ClassUDP {
		return "udp"
	}
	return "tcp"
}
