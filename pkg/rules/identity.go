package rules

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// orgRef is an organisation named by id in another organisation's file.
type orgRef struct {
	id   string
	pos  Pos
	used bool // an overlap it allows was found
}

// orgRefs decodes a list of organisation ids. The same id twice is an
// error: one of the two was meant to be another organisation.
func (d *decoder) orgRefs(n *yaml.Node, what string) []orgRef {
	items, _ := d.list(n, what)
	var out []orgRef
	first := map[string]int{}
	for _, it := range items {
		s, ok := d.str(it, "organisation id")
		if !ok {
			continue
		}
		if line, dup := first[s]; dup {
			d.errorf(it, "organisation %q listed twice in %s (first at line %d)", s, what, line)
			continue
		}
		first[s] = it.Line
		out = append(out, orgRef{id: s, pos: d.pos(it)})
	}
	return out
}

// sharesWith returns src's prefixes_shared_with entry for id, or nil.
func (src *orgSource) sharesWith(id string) *orgRef {
	for i := range src.shares {
		if src.shares[i].id == id {
			return &src.shares[i]
		}
	}
	return nil
}

// prefixClaim is one registered prefix of one organisation.
type prefixClaim struct {
	src    *orgSource
	order  int          // the organisation's place in file order
	keys   []ingressKey // its ingresses, sorted
	prefix netip.Prefix
	at     Pos
}

// checkPrefixOverlap refuses two organisations whose registered prefixes
// overlap, wherever they are connected. On one ingress nothing allows it:
// a packet's organisation is found from its ingress and source address, so
// the answer would depend on map order. On different ingresses it is
// allowed when each organisation lists the other in prefixes_shared_with,
// so that one file cannot claim another organisation's addresses unseen.
// The later organisation, in file order, is the one reported.
func (l *loader) checkPrefixOverlap() {
	l.checkShareRefs()
	var claims []prefixClaim
	for order, src := range l.orgs {
		keys := ingressKeys(src.org)
		for i, p := range src.org.Prefixes {
			claims = append(claims, prefixClaim{src, order, keys, p, src.prefixes[i]})
		}
	}
	overlappingClaims(claims, l.checkOverlap)
	l.warnUnusedShares()
}

// overlappingClaims calls fn once for every two prefixes of different
// organisations that overlap, the one written first as a. Two prefixes
// overlap only if one contains the other, so in address order a stack of
// the prefixes still open holds exactly those containing the next one:
// O(n log n) for n prefixes, plus the pairs found.
func overlappingClaims(claims []prefixClaim, fn func(a, b prefixClaim)) {
	slices.SortStableFunc(claims, func(a, b prefixClaim) int { return comparePrefix(a.prefix, b.prefix) })
	var open []prefixClaim
	for _, c := range claims {
		for len(open) > 0 && !covers(open[len(open)-1].prefix, c.prefix) {
			open = open[:len(open)-1]
		}
		for _, o := range open {
			switch {
			case o.src == c.src:
			case o.order < c.order:
				fn(o, c)
			default:
				fn(c, o)
			}
		}
		open = append(open, c)
	}
}

// checkOverlap reports b's prefix overlapping a's, unless the two
// organisations are on different ingresses and have both declared it.
func (l *loader) checkOverlap(a, b prefixClaim) {
	if k, ok := sharedIngress(a.keys, b.keys); ok {
		l.f.errorf(b.at, "prefix %s of organisation %q overlaps %s of organisation %q (%s) on ingress %s, "+
			"where only the source address tells them apart", b.prefix, b.src.org.ID, a.prefix, a.src.org.ID, a.at, k)
		return
	}
	ida, idb := a.src.org.ID, b.src.org.ID
	ab, ba := a.src.sharesWith(idb), b.src.sharesWith(ida)
	if ab != nil && ba != nil {
		ab.used, ba.used = true, true
		return
	}
	why := "if the two share these addresses, each must list the other in prefixes_shared_with"
	switch {
	case ab != nil:
		why = fmt.Sprintf("%q lists %q in prefixes_shared_with, but %q does not list %q", ida, idb, idb, ida)
	case ba != nil:
		why = fmt.Sprintf("%q lists %q in prefixes_shared_with, but %q does not list %q", idb, ida, ida, idb)
	}
	l.f.errorf(b.at, "prefix %s of organisation %q overlaps %s of organisation %q (%s); %s",
		b.prefix, idb, a.prefix, ida, a.at, why)
}

// checkShareRefs refuses prefixes_shared_with entries naming no other
// organisation: a misspelt id must not pass for a declaration.
func (l *loader) checkShareRefs() {
	for _, src := range l.orgs {
		for _, r := range src.shares {
			switch {
			case r.id == src.org.ID:
				l.f.errorf(r.pos, "prefixes_shared_with names %s itself; name the other organisation", r.id)
			case l.orgByID[r.id] == nil:
				l.f.errorf(r.pos, "prefixes_shared_with names unknown organisation %q", r.id)
			}
		}
	}
}

// warnUnusedShares reports declarations that allow nothing: no prefix of
// the two overlaps, so the entry is stale or names the wrong organisation.
func (l *loader) warnUnusedShares() {
	for _, src := range l.orgs {
		for _, r := range src.shares {
			if r.used || r.id == src.org.ID || l.orgByID[r.id] == nil {
				continue
			}
			l.f.warnf(r.pos, "prefixes_shared_with names %q, but no prefix of %s overlaps one of %s; remove the entry",
				r.id, src.org.ID, r.id)
		}
	}
}

// sharedIngress returns the first ingress in both sorted lists.
func sharedIngress(a, b []ingressKey) (ingressKey, bool) {
	for len(a) > 0 && len(b) > 0 {
		switch c := compareIngress(a[0], b[0]); {
		case c == 0:
			return a[0], true
		case c < 0:
			a = a[1:]
		default:
			b = b[1:]
		}
	}
	return ingressKey{}, false
}

func ingressKeys(o *Organisation) []ingressKey {
	set := map[ingressKey]bool{}
	for _, in := range o.Ingress {
		set[keyOf(in)] = true
	}
	return slices.SortedFunc(maps.Keys(set), compareIngress)
}

func compareIngress(a, b ingressKey) int {
	return cmp.Or(strings.Compare(a.ifname, b.ifname), cmp.Compare(a.vlan, b.vlan), cmp.Compare(a.inner, b.inner))
}

// tags reads an ingress entry's VLAN tags. vlan alone is the one tag of
// an 802.1Q (or 802.1ad) frame; vlan and inner_vlan are a double-tagged
// (QinQ) frame's outer and inner tag, in the order they are on the wire.
// The datapath keys an ingress on both (interface, outer, inner), so a
// single tag is (vlan, 0) and an inner tag alone names nothing it sees.
func (d *decoder) tags(f map[string]entry, in *Ingress) {
	in.VLAN = d.vlanID(f, "vlan")
	in.InnerVLAN = d.vlanID(f, "inner_vlan")
	if e, ok := f["inner_vlan"]; ok {
		if _, outer := f["vlan"]; !outer {
			d.errorf(e.key, "inner_vlan needs vlan, the outer tag; a frame with one tag is written vlan alone")
		}
	}
}

// vlanID reads a VLAN id field: 1-4094 (0 is a priority tag's, 4095 reserved).
func (d *decoder) vlanID(f map[string]entry, key string) uint16 {
	e, ok := f[key]
	if !ok {
		return 0
	}
	v, ok := d.integer(e.val, key)
	if ok && (v < 1 || v > 4094) {
		d.errorf(resolve(e.val), "%s %d out of range 1-4094", key, v)
		return 0
	}
	return uint16(v)
}

// checkInnerTags refuses an organisation's QinQ ingress inside another
// organisation's single-tagged VLAN on the same interface. Frames on that
// VLAN come from the other organisation's link, and whatever inner tag its
// hosts put inside the outer one reaches the gateway as sent (a provider
// bridge keeps a customer's tags), so they could choose this ingress and
// pass as this organisation.
func (l *loader) checkInnerTags() {
	single := map[ingressKey]*orgSource{}
	at := map[ingressKey]Pos{}
	for _, src := range l.orgs {
		for _, in := range src.org.Ingress {
			if in.VLAN != 0 && in.InnerVLAN == 0 {
				k := keyOf(in)
				if single[k] == nil {
					single[k], at[k] = src, in.Pos
				}
			}
		}
	}
	for _, src := range l.orgs {
		for _, in := range src.org.Ingress {
			outer := ingressKey{in.Interface, in.VLAN, 0}
			owner := single[outer]
			if in.InnerVLAN == 0 || owner == nil || owner == src {
				continue
			}
			l.f.errorf(in.Pos, "ingress %s of organisation %q is inside %s of organisation %q (%s): "+
				"%s's hosts choose the inner tag of what they send there, so they could pass as %s; give %s an outer tag of its own",
				keyOf(in), src.org.ID, outer, owner.org.ID, at[outer], owner.org.ID, src.org.ID, src.org.ID)
		}
	}
}
