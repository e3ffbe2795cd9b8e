package synth

import (
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
		ts, err := s.RefusedIPv4(c, "lo", 256)
		if err != nil {
			t.Fatalf("%d rules: %v", n, err)
		}
		if len(ts) != 256 {
			t.Errorf("%d rules: got %d refused tuples, want 256", n, len(ts))
		}
	}
}
