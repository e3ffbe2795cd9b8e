package synth

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/palisade-psn/palisade/pkg/policy"
)

// Smaller sets are prefixes of larger ones: growth adds rules, never
// changes the probed ones.
func TestSetsNest(t *testing.T) {
	small, large := Generate(10), Generate(1000)
	for j, r := range small.Rules {
		if large.Rules[j] != r {
			t.Fatalf("rule %d differs between a 10- and a 1000-rule set", j)
		}
	}
}

func TestProbesTakeTheirPaths(t *testing.T) {
	for _, n := range []int{10, 1000, 10000} {
		s := Generate(n)
		c := policy.Compile(s.Policy("lo"))
		for _, fam := range []int{4, 6} {
			if _, err := s.Probes(c, "lo", fam); err != nil {
				t.Errorf("%d rules: %v", n, err)
			}
		}
		for _, fam := range []int{4, 6} {
			for _, allowed := range []bool{false, true} {
				// Spread checks every tuple against Decide itself.
				ts, err := s.Spread(c, "lo", fam, 256, allowed)
				if err != nil {
					t.Fatalf("%d rules, IPv%d, allowed %v: %v", n, fam, allowed, err)
				}
				if len(ts) != 256 || ts[0].Src.Is4() != (fam == 4) || ts[0].Dst.Is4() != (fam == 4) {
					t.Errorf("%d rules, IPv%d: got %d tuples, first %v -> %v", n, fam, len(ts), ts[0].Src, ts[0].Dst)
				}
			}
		}
	}
}

func TestRandomHostStaysInItsPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range []netip.Prefix{OrgSource4(999), OrgSource6(999), netip.MustParsePrefix("198.19.7.0/24"),
		netip.MustParsePrefix("198.19.7.9/32"), netip.MustParsePrefix("2001:db8:1:2:3::/80")} {
		seen := map[netip.Addr]bool{}
		for i := 0; i < 200; i++ {
			a := randomHost(rng, p)
			if !p.Contains(a) {
				t.Fatalf("%v is not in %v", a, p)
			}
			seen[a] = true
		}
		if p.Bits() < p.Addr().BitLen() && len(seen) < 2 {
			t.Errorf("%v: 200 draws gave one host", p)
		}
	}
}
