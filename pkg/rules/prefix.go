package rules

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// parsePrefix accepts only canonical prefixes: a host bit set is nearly
// always a typo, and guessing which was meant would widen or narrow a rule
// behind the author's back.
func parsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil && !strings.Contains(s, "/"):
		if a, aerr := netip.ParseAddr(s); aerr == nil && a.Zone() == "" {
			return p, fmt.Errorf("prefix %s has no length; write %s/%d", s, s, a.BitLen())
		}
		return p, fmt.Errorf("invalid prefix %q; want address/length, like 198.18.1.0/24", s)
	case err != nil:
		return p, fmt.Errorf("invalid prefix %q; want address/length, like 198.18.1.0/24", s)
	case p.Addr().Is4In6():
		// The datapath sees IPv4 packets as IPv4; a mapped prefix would never match.
		return p, fmt.Errorf("prefix %s is IPv4-mapped IPv6; write it as an IPv4 prefix", s)
	case p.Masked() != p:
		return p, fmt.Errorf("prefix %s has host bits set; did you mean %s?", s, p.Masked())
	}
	return p, nil
}

// prefixList decodes a list of prefixes with the position of each. The same
// prefix twice is an error (one of the two was meant to be something else);
// a prefix inside another of the list is only redundant, so it is a warning.
func (d *decoder) prefixList(items []*yaml.Node) ([]netip.Prefix, []Pos) {
	var out []netip.Prefix
	var at []Pos
	for _, it := range items {
		s, ok := d.str(it, "prefix")
		if !ok {
			continue
		}
		p, err := parsePrefix(s)
		if err != nil {
			d.errorf(it, "%v", err)
			continue
		}
		if i := slices.Index(out, p); i >= 0 {
			d.errorf(it, "prefix %s listed twice (first at line %d)", p, at[i].Line)
			continue
		}
		if i := indexOverlap(out, p); i >= 0 {
			d.warnNested(it, p, out[i], at[i])
		}
		out = append(out, p)
		at = append(at, d.pos(it))
	}
	return out, at
}

func (d *decoder) warnNested(it *yaml.Node, p, prev netip.Prefix, prevAt Pos) {
	if prev.Bits() <= p.Bits() {
		d.warnf(it, "prefix %s is inside %s (line %d) and adds nothing", p, prev, prevAt.Line)
		return
	}
	d.warnf(it, "prefix %s contains %s (line %d), which then adds nothing", p, prev, prevAt.Line)
}

// indexOverlap returns the index of the first prefix in ps that overlaps p, or -1.
func indexOverlap(ps []netip.Prefix, p netip.Prefix) int {
	for i, q := range ps {
		if q.Overlaps(p) {
			return i
		}
	}
	return -1
}

// covers reports whether a contains every address of b.
func covers(a, b netip.Prefix) bool {
	return a.Bits() <= b.Bits() && a.Contains(b.Addr())
}

// comparePrefix orders prefixes by address, then length, for canonical text.
func comparePrefix(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}
