package doctor

import (
	"strings"
	"testing"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// A QinQ ingress is led back to by a VLAN device carrying both its tags,
// as the datapath's reverse-path check has it; a device of the outer tag
// alone, or of another inner tag, is not it.
func TestQinQRouteLeadsBack(t *testing.T) {
	h := healthyHost()
	in := []rules.Ingress{{Interface: "org1", VLAN: 100, InnerVLAN: 200}}
	vlans := []datapath.VLANDev{
		{Ifindex: 20, Parent: 4, VLAN: 100},                 // org1.100
		{Ifindex: 21, Parent: 4, VLAN: 100, InnerVLAN: 200}, // org1.100.200
		{Ifindex: 22, Parent: 4, VLAN: 100, InnerVLAN: 201}, // org1.100.201
	}
	for _, tc := range []struct {
		rd   RouteDev
		want bool
	}{
		{org1, true},
		{RouteDev{Ifindex: 21, Name: "org1.100.200"}, true},
		{RouteDev{Ifindex: 20, Name: "org1.100"}, false},
		{RouteDev{Ifindex: 22, Name: "org1.100.201"}, false},
	} {
		if got := leadsBack(h, in, tc.rd, vlans); got != tc.want {
			t.Errorf("route through %s: leads back %v, want %v", tc.rd.Name, got, tc.want)
		}
	}
	if got := ingressNames(in); !strings.Contains(got, "org1 VLAN 100 inner VLAN 200 (org1 itself or its VLAN 100.200 device)") {
		t.Errorf("ingress named %q", got)
	}
}
