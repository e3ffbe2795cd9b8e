package policy

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/palisade-psn/palisade/pkg/rules"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func tcpPorts(lo, hi uint16) []rules.PortRange {
	return []rules.PortRange{{Proto: rules.ProtoTCP, Lo: lo, Hi: hi}}
}

func orgWith(allow ...rules.Rule) *rules.Policy {
	return &rules.Policy{
		Services:    map[string]*rules.Service{"patch": {Name: "patch", To: []netip.Prefix{pfx("198.19.20.10/32")}, Ports: tcpPorts(80, 80)}},
		Remediation: []string{"patch"},
		Orgs: []*rules.Organisation{{
			ID: "a", Ingress: []rules.Ingress{{Interface: "org0"}},
			Prefixes: []netip.Prefix{pfx("198.18.1.0/24")}, Allow: allow,
		}},
	}
}

func TestPortRangesFoldLongestPrefixFirst(t *testing.T) {
	c := Compile(orgWith(
		rules.Rule{ID: "wide", To: []netip.Prefix{pfx("198.19.0.0/16")}, Ports: tcpPorts(1, 1000)},
		rules.Rule{ID: "narrow", To: []netip.Prefix{pfx("198.19.10.0/24")}, Ports: tcpPorts(443, 443)},
		rules.Rule{ID: "later", To: []netip.Prefix{pfx("198.19.10.0/24")}, Ports: tcpPorts(400, 500)},
	))
	rs := c.Rulesets[1]
	var narrow *Dest
	for i := range rs.Dests {
		if rs.Dests[i].Prefix == pfx("198.19.10.0/24") {
			narrow = &rs.Dests[i]
		}
	}
	if narrow == nil {
		t.Fatal("no destination 198.19.10.0/24")
	}
	want := []PortRange{{1, 399, 1}, {400, 442, 3}, {443, 443, 2}, {444, 500, 3}, {501, 1000, 1}}
	if got := narrow.Ports[ClassTCP]; !reflect.DeepEqual(got, want) {
		t.Errorf("tcp ranges of 198.19.10.0/24 = %v, want %v", got, want)
	}
}

func TestDecide(t *testing.T) {
	p := orgWith(
		rules.Rule{ID: "web", To: []netip.Prefix{pfx("198.19.10.0/24")}, Ports: tcpPorts(443, 443)},
		rules.Rule{ID: "ping", To: []netip.Prefix{pfx("198.19.10.0/24")}, Ports: []rules.PortRange{{Proto: rules.ProtoICMP}}},
	)
	p.Orgs = append(p.Orgs, &rules.Organisation{
		ID: "s", State: rules.StateSuspended, Ingress: []rules.Ingress{{Interface: "org1", VLAN: 7}},
		Prefixes: []netip.Prefix{pfx("198.18.2.0/24")},
		Allow:    []rules.Rule{{ID: "web", To: []netip.Prefix{pfx("198.19.10.0/24")}, Ports: tcpPorts(443, 443)}},
	})
	c := Compile(p)
	src, ssrc := netip.MustParseAddr("198.18.1.5"), netip.MustParseAddr("198.18.2.5")
	web, patch := netip.MustParseAddr("198.19.10.9"), netip.MustParseAddr("198.19.20.10")
	cases := []struct {
		name   string
		q      Query
		want   Verdict
		reason string
		rule   string
	}{
		{"allowed", Query{Interface: "org0", Src: src, Dst: web, Proto: ProtoTCP, Port: 443}, Allow, "", "a/web"},
		{"wrong port", Query{Interface: "org0", Src: src, Dst: web, Proto: ProtoTCP, Port: 444}, Drop, ReasonNoRule, ""},
		{"ping", Query{Interface: "org0", Src: src, Dst: web, Proto: ProtoICMP}, Allow, "", "a/ping"},
		{"udp", Query{Interface: "org0", Src: src, Dst: web, Proto: ProtoUDP, Port: 443}, Drop, ReasonNoRule, ""},
		{"spoofed", Query{Interface: "org0", Src: ssrc, Dst: web, Proto: ProtoTCP, Port: 443}, Drop, ReasonSpoofedSource, ""},
		{"unknown vlan", Query{Interface: "org1", VLAN: 8, Src: ssrc, Dst: web, Proto: ProtoTCP, Port: 443}, Drop, ReasonUnknownIngress, ""},
		{"suspended", Query{Interface: "org1", VLAN: 7, Src: ssrc, Dst: web, Proto: ProtoTCP, Port: 443}, Drop, ReasonSuspended, ""},
		{"suspended keeps remediation", Query{Interface: "org1", VLAN: 7, Src: ssrc, Dst: patch, Proto: ProtoTCP, Port: 80}, Allow, "", "remediation/patch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := c.Decide(tc.q)
			rule := ""
			if d.Rule >= 0 {
				rule = c.Rules[d.Rule].Name
			}
			if d.Verdict != tc.want || d.Reason != tc.reason || rule != tc.rule {
				t.Errorf("Decide = %v/%q rule %q, want %v/%q rule %q", d.Verdict, d.Reason, rule, tc.want, tc.reason, tc.rule)
			}
		})
	}
}

func TestCompileIsDeterministic(t *testing.T) {
	p, err := rules.Load("../../rules")
	if err != nil {
		t.Fatal(err)
	}
	a, b := Compile(p), Compile(p)
	if a.Digest != b.Digest || !reflect.DeepEqual(a.Rulesets, b.Rulesets) {
		t.Errorf("two compiles of the same rules differ: %s vs %s", a.Digest, b.Digest)
	}
	p.Orgs[0].Allow = p.Orgs[0].Allow[1:]
	if Compile(p).Digest == a.Digest {
		t.Error("removing a rule did not change the digest")
	}
}
