package policy

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/palisade-psn/palisade/pkg/rules"
)

// A QinQ ingress compiles to its own ingress, keyed on the outer and the
// inner tag both, as the datapath keys it: another inner tag, another
// outer tag, the outer tag alone or the inner tag alone find nothing.
func TestQinQIngressCompiledOnBothTags(t *testing.T) {
	p := orgWith(rules.Rule{ID: "web", To: []netip.Prefix{pfx("198.19.10.0/24")}, Ports: tcpPorts(443, 443)})
	p.Orgs[0].Ingress = []rules.Ingress{{Interface: "org1", VLAN: 100, InnerVLAN: 200}}
	p.Orgs = append(p.Orgs, &rules.Organisation{
		ID: "b", Ingress: []rules.Ingress{{Interface: "org1", VLAN: 100, InnerVLAN: 201}, {Interface: "org1", VLAN: 100}},
		Prefixes: []netip.Prefix{pfx("198.18.2.0/24")},
	})
	c := Compile(p)
	var got [][3]any
	for _, in := range c.Ingresses {
		got = append(got, [3]any{in.Interface, in.VLAN, in.InnerVLAN})
	}
	want := [][3]any{{"org1", uint16(100), uint16(0)}, {"org1", uint16(100), uint16(200)}, {"org1", uint16(100), uint16(201)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ingresses = %v, want %v (sorted by interface, vlan, inner vlan)", got, want)
	}
	src, dst := netip.MustParseAddr("198.18.1.10"), netip.MustParseAddr("198.19.10.10")
	for _, tc := range []struct {
		vlan, inner uint16
		reason      string
	}{
		{100, 200, ""},
		{100, 201, ReasonSpoofedSource}, // b's ingress: a's source is not registered there
		{101, 200, ReasonUnknownIngress},
		{100, 0, ReasonSpoofedSource}, // b's single-tagged ingress
		{200, 0, ReasonUnknownIngress},
		{0, 200, ReasonUnknownIngress},
		{0, 0, ReasonUnknownIngress},
	} {
		d := c.Decide(Query{Interface: "org1", VLAN: tc.vlan, InnerVLAN: tc.inner, Src: src, Dst: dst, Proto: ProtoTCP, Port: 443})
		if d.Reason != tc.reason {
			t.Errorf("tags %d/%d: %+v, want reason %q", tc.vlan, tc.inner, d, tc.reason)
		}
	}
}

// explain takes a flow's inner tag (from: SRC@IFACE.OUTER.INNER) and
// names the ingress with it; without @IFACE it places the flow on the
// QinQ ingress where its source is registered.
func TestExplainQinQ(t *testing.T) {
	p := orgWith(rules.Rule{ID: "web", To: []netip.Prefix{pfx("198.19.10.0/24")}, Ports: tcpPorts(443, 443)})
	p.Orgs[0].Ingress = []rules.Ingress{{Interface: "org1", VLAN: 100, InnerVLAN: 200}}
	c := Compile(p)
	for _, tc := range []struct {
		from, ingress, verdict string
	}{
		{"198.18.1.10@org1.100.200", "org1.100.200", "allow"},
		{"198.18.1.10", "org1.100.200", "allow"},
		{"198.18.1.10@org1.100.201", "org1.100.201", "drop"},
		{"198.18.1.10@org1.100", "org1.100", "drop"},
	} {
		f, err := rules.ParseFlow(tc.from, "198.19.10.10:443/tcp")
		if err != nil {
			t.Fatal(err)
		}
		e := c.Explain(f)
		if e.Ingress != tc.ingress || e.Verdict != tc.verdict {
			t.Errorf("%s: ingress %s verdict %s, want %s %s (%s)", tc.from, e.Ingress, e.Verdict, tc.ingress, tc.verdict, e.Why)
		}
	}
}
