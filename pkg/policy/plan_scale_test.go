package policy

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/pkg/rules"
)

// scalePolicy is orgs organisations of rulesPer /32 tcp rules each; shift
// moves every tenth organisation's rules to other ports.
func scalePolicy(orgs, rulesPer int, shift uint16) *rules.Policy {
	p := &rules.Policy{Services: map[string]*rules.Service{}}
	for i := 0; i < orgs; i++ {
		o := &rules.Organisation{ID: fmt.Sprintf("org-%04d", i), Ingress: []rules.Ingress{{Interface: "org0"}},
			Prefixes: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i / 4), byte(i%4) * 64}), 26)}}
		for r := 0; r < rulesPer; r++ {
			port := uint16(1000 + r)
			if i%10 == 0 {
				port += shift
			}
			o.Allow = append(o.Allow, rules.Rule{ID: fmt.Sprintf("r%d", r),
				To:    []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, byte(r), byte(i % 256)}), 32)},
				Ports: tcpPorts(port, port)})
		}
		p.Orgs = append(p.Orgs, o)
	}
	return p
}

// TestPlanAtScale plans a change to 100 of 1,000 organisations with
// 100,000 rules, and reports how long compiling and planning take.
func TestPlanAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("scale: 100,000 rules")
	}
	oldP, newP := scalePolicy(1000, 100, 0), scalePolicy(1000, 100, 5000)
	start := time.Now()
	oldC, newC := Compile(oldP), Compile(newP)
	compiled := time.Since(start)
	start = time.Now()
	p := MakePlan(oldP, oldC, newP, newC)
	planned := time.Since(start)
	if len(p.Rules.Changed) != 100*100 || len(p.Flows) != 2*100*100 {
		t.Errorf("plan: %d rules changed, %d flow blocks; want 10000 and 20000", len(p.Rules.Changed), len(p.Flows))
	}
	t.Logf("1,000 organisations, 100,000 rules: compile both %v, plan %v (%s)", compiled, planned, p.Summary())
}
