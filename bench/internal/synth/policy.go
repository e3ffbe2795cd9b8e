package synth

import (
	"fmt"
	"net/netip"

	"github.com/palisade-psn/palisade/pkg/rules"
)

// OrgID names organisation i; zero-padded so that IDs sort as numbers do,
// which rules.Policy requires of its Orgs.
func OrgID(i int) string { return fmt.Sprintf("org%04d", i) }

// Policy is the set as a validated Palisade policy whose organisations all
// come in on ingress (untagged), each known by its own source prefixes. It
// is built directly rather than parsed: the benchmark measures compiling
// and enforcing, not reading YAML.
func (s *Set) Policy(ingress string) *rules.Policy {
	p := &rules.Policy{Dir: "synthetic", Services: map[string]*rules.Service{}}
	for i := 0; i < Orgs; i++ {
		p.Orgs = append(p.Orgs, &rules.Organisation{
			ID:       OrgID(i),
			Name:     "Synthetic organisation " + OrgID(i),
			Ingress:  []rules.Ingress{{Interface: ingress}},
			Prefixes: []netip.Prefix{OrgSource4(i), OrgSource6(i)},
		})
	}
	for j, r := range s.Rules {
		o := p.Orgs[r.Org]
		o.Allow = append(o.Allow, r.allow(j))
	}
	return p
}

func (r Rule) allow(j int) rules.Rule {
	a := rules.Rule{
		ID:    fmt.Sprintf("r%06d", j),
		To:    []netip.Prefix{r.Dst4, r.Dst6},
		Ports: []rules.PortRange{{Proto: r.Proto, Lo: r.Port, Hi: r.Port}},
	}
	if r.Inspect {
		a.Inspect = &rules.Inspect{TLSSNI: []string{"*.service.example"}}
	}
	return a
}
