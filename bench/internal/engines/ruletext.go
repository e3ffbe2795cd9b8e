package engines

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/palisade-psn/palisade/bench/internal/synth"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// flatRule is one rule as the kernel-stack engines see it: IPv4 only (the
// throughput test sends IPv4), inspected rules as plain accepts (they have
// no inspector; the traffic is refused either way).
type flatRule struct {
	Src, Dst netip.Prefix
	Proto    string
	Port     uint16
}

func flatten(set *synth.Set) []flatRule {
	out := make([]flatRule, len(set.Rules))
	for j, r := range set.Rules {
		out[j] = flatRule{Src: synth.OrgSource4(r.Org), Dst: r.Dst4, Proto: protoName(r.Proto), Port: r.Port}
	}
	return out
}

func protoName(p rules.Proto) string {
	if p == rules.ProtoUDP {
		return "udp"
	}
	return "tcp"
}

// withoutCovered drops rules whose destination lies inside another rule's
// with the same source, protocol and port. They allow nothing more, and an
// nftables interval set refuses overlapping elements.
func withoutCovered(rs []flatRule) []flatRule {
	type key struct {
		src   netip.Prefix
		proto string
		port  uint16
	}
	groups := map[key][]netip.Prefix{}
	var keys []key
	for _, r := range rs {
		k := key{r.Src, r.Proto, r.Port}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r.Dst)
	}
	var out []flatRule
	for _, k := range keys {
		dsts := groups[k]
		slices.SortFunc(dsts, func(a, b netip.Prefix) int { return cmp.Compare(a.Bits(), b.Bits()) })
		var kept []netip.Prefix
		for _, d := range dsts {
			if !slices.ContainsFunc(kept, func(q netip.Prefix) bool { return q.Contains(d.Addr()) }) {
				kept = append(kept, d)
				out = append(out, flatRule{k.src, d, k.proto, k.port})
			}
		}
	}
	return out
}

// iptablesLine is r as an iptables-restore line of the FORWARD chain.
func (r flatRule) iptablesLine() string {
	return fmt.Sprintf("-A FORWARD -s %s -d %s -p %s -m %s --dport %d -j ACCEPT\n", r.Src, r.Dst, r.Proto, r.Proto, r.Port)
}
