package rules

import (
	"net/netip"
	"slices"
	"testing"
)

// The example policy is what the demo and end-to-end tests run, so its
// shape is pinned here: a change to it should be a deliberate one.
func TestLoadExamplePolicy(t *testing.T) {
	p, err := Load("../../rules")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	// Surrey runs Mole Valley's IT and they share org0 untagged: validate
	// says what that costs, and nothing else.
	const shared = ": identity on it rests on source addresses alone, so a host of one organisation can send from another's registered prefixes; a VLAN each would isolate them"
	equalLines(t, relLines("../../rules", p.Warnings), []string{
		`organisations/mole-valley-dc.yaml:10:5: ingress org0 is shared with organisation "surrey-cc"` + shared,
		`organisations/surrey-cc.yaml:9:5: ingress org0 is shared with organisation "mole-valley-dc"` + shared,
	})
	var services []string
	for name := range p.Services {
		services = append(services, name)
	}
	slices.Sort(services)
	wantServices := []string{"cloud-storage", "compliance-portal", "dwp-benefits", "health-spine", "intranet-web", "ntp", "patch-mirror",
		"police-safeguarding", "psn-dns", "surrey-social-care"}
	if !slices.Equal(services, wantServices) {
		t.Errorf("services = %v, want %v", services, wantServices)
	}
	if want := []string{"patch-mirror", "compliance-portal", "psn-dns"}; !slices.Equal(p.Remediation, want) {
		t.Errorf("remediation = %v, want %v", p.Remediation, want)
	}
	tests := []struct {
		id       string
		state    State
		ingress  Ingress
		prefixes string
		rules    []string
	}{
		{"elmbridge-bc", StateSuspended, Ingress{Interface: "org1", VLAN: 200}, "198.18.5.0/24 2001:db8:5::/48",
			[]string{"dwp-benefits", "patch-mirror", "compliance-portal"}},
		{"mole-valley-dc", StateActive, Ingress{Interface: "org0"}, "198.18.2.0/24 2001:db8:2::/48",
			[]string{"dwp-benefits", "patch-mirror", "psn-dns", "cloud-storage"}},
		{"nhs-trust", StateActive, Ingress{Interface: "org1", VLAN: 300}, "198.18.4.0/24 2001:db8:4::/48",
			[]string{"health-spine", "patch-mirror", "psn-dns"}},
		{"surrey-cc", StateActive, Ingress{Interface: "org0"}, "198.18.1.0/24 2001:db8:1::/48",
			[]string{"dwp-benefits", "patch-mirror", "compliance-portal", "psn-dns", "ntp", "ping-services", "cloud-storage", "intranet",
				"safeguarding-2026.police-safeguarding"}},
		{"surrey-police", StateActive, Ingress{Interface: "org1"}, "198.18.3.0/24 2001:db8:3::/48",
			[]string{"psn-dns", "patch-mirror", "pnc-udp", "ping-services", "safeguarding-2026.surrey-social-care"}},
	}
	if len(p.Orgs) != len(tests) {
		t.Fatalf("%d organisations, want %d", len(p.Orgs), len(tests))
	}
	for i, tt := range tests {
		o := p.Orgs[i]
		if o.ID != tt.id || o.State != tt.state {
			t.Errorf("org %d = %s (%s), want %s (%s)", i, o.ID, o.State, tt.id, tt.state)
			continue
		}
		if len(o.Ingress) != 1 || o.Ingress[0].Interface != tt.ingress.Interface || o.Ingress[0].VLAN != tt.ingress.VLAN {
			t.Errorf("%s ingress = %v, want %v", o.ID, o.Ingress, tt.ingress)
		}
		if got := prefixText(o.Prefixes); got != tt.prefixes {
			t.Errorf("%s prefixes = %s, want %s", o.ID, got, tt.prefixes)
		}
		if got := ruleIDs(o.Allow); !slices.Equal(got, tt.rules) {
			t.Errorf("%s rules = %v, want %v", o.ID, got, tt.rules)
		}
	}
}

// Every address in the example must stay in the benchmarking ranges the
// lab uses, or the end-to-end tests would route to the real Internet.
func TestExamplePolicyAddressesStayInLabRanges(t *testing.T) {
	p, err := Load("../../rules")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	lab := []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("2001:db8::/32")}
	inLab := func(q netip.Prefix) bool {
		return covers(lab[0], q) || covers(lab[1], q)
	}
	for _, s := range p.Services {
		for _, q := range s.To {
			if !inLab(q) {
				t.Errorf("service %s: %s is outside the lab ranges", s.Name, q)
			}
		}
	}
	for _, o := range p.Orgs {
		for _, q := range o.Prefixes {
			if !inLab(q) {
				t.Errorf("org %s: %s is outside the lab ranges", o.ID, q)
			}
		}
		for _, r := range o.Allow {
			for _, q := range r.To {
				if !inLab(q) {
					t.Errorf("org %s rule %s: %s is outside the lab ranges", o.ID, r.ID, q)
				}
			}
		}
	}
}

func TestExamplePolicyRuleDetails(t *testing.T) {
	p, err := Load("../../rules")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	police := p.Org("surrey-police")
	pnc := police.Allow[2]
	if prefixText(pnc.To) != "198.19.10.0/24" || !slices.Equal(pnc.Ports, []PortRange{{ProtoUDP, 5000, 5010}}) {
		t.Errorf("pnc-udp = %v %v", pnc.To, pnc.Ports)
	}
	ping := p.Org("surrey-cc").Allow[5]
	if prefixText(ping.To) != "198.19.10.0/24 2001:db8:10::/48" || !slices.Equal(ping.Ports, []PortRange{{Proto: ProtoICMP}}) {
		t.Errorf("surrey-cc ping-services = %v %v", ping.To, ping.Ports)
	}
	dns := p.Org("nhs-trust").Allow[2]
	want := []PortRange{{ProtoTCP, 53, 53}, {ProtoUDP, 53, 53}}
	if dns.Service != "psn-dns" || !slices.Equal(dns.Ports, want) {
		t.Errorf("nhs-trust psn-dns = %q %v, want ports %v", dns.Service, dns.Ports, want)
	}
	// A suspended organisation keeps only its remediation services.
	if got := ruleIDs(p.ActiveRules(p.Org("elmbridge-bc"))); !slices.Equal(got, []string{"patch-mirror", "compliance-portal"}) {
		t.Errorf("elmbridge-bc active rules = %v", got)
	}
}

func prefixText(ps []netip.Prefix) string {
	var s string
	for i, p := range ps {
		if i > 0 {
			s += " "
		}
		s += p.String()
	}
	return s
}

func ruleIDs(rs []Rule) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}
