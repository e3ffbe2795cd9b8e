package rules

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// Two organisations' prefixes may overlap only on different ingresses, and
// only when each lists the other in prefixes_shared_with.
func TestPrefixOverlapRefused(t *testing.T) {
	const a = "organisation: a\nname: A\ningress: [{interface: org0}]\nprefixes: [198.18.0.0/16, 2001:db8:1::/48]\n"
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name: "across ingresses, undeclared",
			files: map[string]string{
				"a.yaml": a,
				"b.yaml": "organisation: b\nname: B\ningress: [{interface: org1}]\nprefixes:\n  - 198.18.2.0/24\n  - 2001:db8::/32\n",
				// Another VLAN of a's interface is another ingress: refused the same way.
				"c.yaml": "organisation: c\nname: C\ningress: [{interface: org0, vlan: 7}]\nprefixes: [198.18.3.0/24]\n",
			},
			want: []string{
				`b.yaml:5:5: prefix 198.18.2.0/24 of organisation "b" overlaps 198.18.0.0/16 of organisation "a" (DIR/a.yaml:4:12); if the two share these addresses, each must list the other in prefixes_shared_with`,
				`b.yaml:6:5: prefix 2001:db8::/32 of organisation "b" overlaps 2001:db8:1::/48 of organisation "a" (DIR/a.yaml:4:27); if the two share these addresses, each must list the other in prefixes_shared_with`,
				`c.yaml:4:12: prefix 198.18.3.0/24 of organisation "c" overlaps 198.18.0.0/16 of organisation "a" (DIR/a.yaml:4:12); if the two share these addresses, each must list the other in prefixes_shared_with`,
			},
		},
		{
			name: "declared by one side only",
			files: map[string]string{
				"a.yaml": a + "prefixes_shared_with: [b]\n",
				"b.yaml": "organisation: b\nname: B\ningress: [{interface: org1}]\nprefixes: [198.18.2.0/24]\n",
			},
			want: []string{`b.yaml:4:12: prefix 198.18.2.0/24 of organisation "b" overlaps 198.18.0.0/16 of organisation "a" (DIR/a.yaml:4:12); "a" lists "b" in prefixes_shared_with, but "b" does not list "a"`},
		},
		{
			name: "declared, but on one ingress",
			files: map[string]string{
				"a.yaml": a + "prefixes_shared_with: [b]\n",
				"b.yaml": "organisation: b\nname: B\ningress: [{interface: org1}, {interface: org0}]\nprefixes: [198.18.2.0/24]\nprefixes_shared_with: [a]\n",
			},
			want: []string{`b.yaml:4:12: prefix 198.18.2.0/24 of organisation "b" overlaps 198.18.0.0/16 of organisation "a" (DIR/a.yaml:4:12) on ingress org0, where only the source address tells them apart`},
		},
		{
			name: "declaration naming no other organisation",
			files: map[string]string{
				"a.yaml": a + "prefixes_shared_with: [a, nobody, b, b, [x]]\n",
				"b.yaml": "organisation: b\nname: B\ningress: [{interface: org1}]\nprefixes: [198.19.2.0/24]\n",
			},
			want: []string{
				`a.yaml:5:24: prefixes_shared_with names a itself; name the other organisation`,
				`a.yaml:5:27: prefixes_shared_with names unknown organisation "nobody"`,
				`a.yaml:5:38: organisation "b" listed twice in prefixes_shared_with (first at line 5)`,
				`a.yaml:5:41: organisation id must be a string, not a list`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.files["services.yaml"] = testServices
			dir := writePolicy(t, tt.files)
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = strings.ReplaceAll(w, "DIR", dir)
			}
			equalLines(t, loadErrorsIn(t, dir), want)
		})
	}
}

// A declared overlap loads; a declaration that allows nothing is stale and
// said so.
func TestPrefixOverlapDeclared(t *testing.T) {
	p, dir := loadOK(t, map[string]string{
		"services.yaml": testServices,
		"a.yaml":        "organisation: a\nname: A\ningress: [{interface: org0}]\nprefixes: [198.18.0.0/16]\nprefixes_shared_with: [b]\n",
		"b.yaml":        "organisation: b\nname: B\ningress: [{interface: org1}]\nprefixes: [198.18.2.0/24]\nprefixes_shared_with: [a, c]\n",
		"c.yaml":        "organisation: c\nname: C\ningress: [{interface: org2}]\nprefixes: [198.19.0.0/24]\nprefixes_shared_with: [b]\n",
	})
	if len(p.Orgs) != 3 {
		t.Fatalf("orgs = %v", p.Orgs)
	}
	equalLines(t, relLines(dir, p.Warnings), []string{
		`b.yaml:5:27: prefixes_shared_with names "c", but no prefix of b overlaps one of c; remove the entry`,
		`c.yaml:5:24: prefixes_shared_with names "b", but no prefix of c overlaps one of b; remove the entry`,
	})
}

// Organisations on one ingress are told apart by source address only: each
// is warned at its ingress entry. A VLAN each, or an interface each, is
// quiet.
func TestSharedIngressWarning(t *testing.T) {
	org := func(id, ingress string, prefix int) string {
		return fmt.Sprintf("organisation: %s\nname: %s\ningress:\n%sprefixes: [198.18.%d.0/24]\n", id, id, ingress, prefix)
	}
	p, dir := loadOK(t, map[string]string{
		"services.yaml": testServices,
		// Two untagged on org0; a also has a VLAN of its own on org1.
		"a.yaml": org("a", "  - {interface: org1, vlan: 9}\n  - {interface: org0}\n", 1),
		"b.yaml": org("b", "  - {interface: org0}\n", 2),
		// Four on one VLAN of org1.
		"c.yaml": org("c", "  - {interface: org1, vlan: 5}\n", 3),
		"d.yaml": org("d", "  - {interface: org1, vlan: 5}\n", 4),
		"e.yaml": org("e", "  - {interface: org1, vlan: 5}\n", 5),
		"f.yaml": org("f", "  - {interface: org1, vlan: 5}\n", 6),
		// Separate VLANs of one interface, and the interface untagged: no warning.
		"g.yaml": org("g", "  - {interface: org2, vlan: 101}\n", 7),
		"h.yaml": org("h", "  - {interface: org2, vlan: 102}\n", 8),
		"i.yaml": org("i", "  - {interface: org2}\n", 9),
	})
	const why = ": identity on it rests on source addresses alone, so a host of one organisation can send from another's registered prefixes; a VLAN each would isolate them"
	equalLines(t, relLines(dir, p.Warnings), []string{
		`a.yaml:5:5: ingress org0 is shared with organisation "b"` + why,
		`b.yaml:4:5: ingress org0 is shared with organisation "a"` + why,
		`c.yaml:4:5: ingress org1 vlan 5 is shared with organisations "d", "e", "f"` + why,
		`d.yaml:4:5: ingress org1 vlan 5 is shared with organisations "c", "e", "f"` + why,
		`e.yaml:4:5: ingress org1 vlan 5 is shared with organisations "c", "d", "f"` + why,
		`f.yaml:4:5: ingress org1 vlan 5 is shared with organisations "c", "d", "e"` + why,
	})
}

func TestSharedIngressNamesAFew(t *testing.T) {
	var sharers []sharer
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		sharers = append(sharers, sharer{id: id})
	}
	if got, want := othersThan(sharers, 1), `organisations "a", "c", "d" and 2 more`; got != want {
		t.Errorf("othersThan = %s, want %s", got, want)
	}
}

// The sweep finds exactly the overlapping pairs that comparing every two
// prefixes finds, on random nested and disjoint prefixes of both families.
func TestOverlappingClaimsMatchesPairwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 1))
	for round := range 200 {
		srcs := make([]*orgSource, 1+rng.IntN(6))
		for i := range srcs {
			srcs[i] = &orgSource{org: &Organisation{ID: fmt.Sprint(i)}}
		}
		var claims []prefixClaim
		for i := range rng.IntN(40) {
			o := rng.IntN(len(srcs))
			claims = append(claims, prefixClaim{src: srcs[o], order: o, prefix: randomPrefix(rng), at: Pos{Line: i}})
		}
		want := map[string]bool{}
		for i, a := range claims {
			for _, b := range claims[i+1:] {
				if a.src != b.src && a.prefix.Overlaps(b.prefix) {
					want[pairText(a, b)] = true
				}
			}
		}
		got := map[string]bool{}
		overlappingClaims(slices.Clone(claims), func(a, b prefixClaim) {
			if a.order > b.order {
				t.Errorf("round %d: %v reported before %v, which comes earlier", round, a.prefix, b.prefix)
			}
			if k := pairText(a, b); got[k] {
				t.Errorf("round %d: pair %s reported twice", round, k)
			} else {
				got[k] = true
			}
		})
		if !maps.Equal(got, want) {
			t.Fatalf("round %d: got pairs %v, want %v", round, got, want)
		}
	}
}

// randomPrefix picks from a small space, so that prefixes often nest.
func randomPrefix(rng *rand.Rand) netip.Prefix {
	if rng.IntN(4) == 0 {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(rng.IntN(4)), byte(rng.IntN(4) << 6)})
		return netip.PrefixFrom(a, 30+rng.IntN(20)).Masked()
	}
	a := netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(4) << 6), 0})
	return netip.PrefixFrom(a, 6+rng.IntN(20)).Masked()
}

// pairText names two claims by where they were made, whichever comes first.
func pairText(a, b prefixClaim) string {
	x, y := a.at.Line, b.at.Line
	return fmt.Sprint(min(x, y), "-", max(x, y))
}

// BenchmarkPrefixOverlap checks the prefixes of a large policy: 50,000
// organisations with an IPv4 and an IPv6 prefix each, none overlapping.
func BenchmarkPrefixOverlap(b *testing.B) {
	l := newLoader("bench")
	for i := range 50_000 {
		v4 := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0})
		v6 := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i)})
		src := &orgSource{org: &Organisation{
			ID:       fmt.Sprintf("org-%d", i),
			Ingress:  []Ingress{{Interface: fmt.Sprintf("org%d", i%8), VLAN: uint16(1 + i/8%4000)}},
			Prefixes: []netip.Prefix{netip.PrefixFrom(v4, 24), netip.PrefixFrom(v6, 48)},
		}, prefixes: make([]Pos, 2)}
		l.addOrg(src)
	}
	b.ResetTimer()
	for range b.N {
		l.f = findings{}
		l.checkPrefixOverlap()
	}
	if len(l.f.errs) != 0 {
		b.Fatalf("%d errors, first %v", len(l.f.errs), l.f.errs[0])
	}
}
