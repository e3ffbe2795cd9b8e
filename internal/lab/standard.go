package lab

// StandardSpec is Palisade's standard gateway lab, the one the example
// policy in rules/ is written for and `make demo` runs:
//
//	surrey  eth0      198.18.1.10 2001:db8:1::10  + 198.18.2.10 2001:db8:2::10  -- gw org0
//	police  eth0      198.18.3.10 2001:db8:3::10                                -- gw org1
//	nhs     eth0.300  198.18.4.10 2001:db8:4::10  (police ns, vlan 300)         -- gw org1.300
//	elmbridge eth0.200 198.18.5.10 2001:db8:5::10 (police ns, vlan 200)         -- gw org1.200
//	svcA    eth0      198.19.10.10 2001:db8:10::10                              -- gw svc0
//	svcB    eth0      198.19.20.{10,20,53,123} 2001:db8:20::{10,20,53}          -- gw svc1
//
// The gateway's address on each network is .1 / ::1. Surrey carries a
// second prefix because a district council shares its IT; nhs and
// elmbridge (the suspended organisation) are VLANs on the police link.
func StandardSpec() GatewaySpec {
	return GatewaySpec{
		Gateway: "gw",
		Orgs: []LinkSpec{
			{
				Name: "surrey", GWIf: "org0",
				GWAddrs: []string{"198.18.1.1/24", "198.18.2.1/24", "2001:db8:1::1/64", "2001:db8:2::1/64"},
				Addrs:   []string{"198.18.1.10/24", "2001:db8:1::10/64", "198.18.2.10/24", "2001:db8:2::10/64"},
			},
			{
				Name: "police", GWIf: "org1",
				GWAddrs: []string{"198.18.3.1/24", "2001:db8:3::1/64"},
				Addrs:   []string{"198.18.3.10/24", "2001:db8:3::10/64"},
				VLANs: []VLANSpec{
					{Name: "nhs", ID: 300,
						GWAddrs: []string{"198.18.4.1/24", "2001:db8:4::1/64"},
						Addrs:   []string{"198.18.4.10/24", "2001:db8:4::10/64"}},
					{Name: "elmbridge", ID: 200,
						GWAddrs: []string{"198.18.5.1/24", "2001:db8:5::1/64"},
						Addrs:   []string{"198.18.5.10/24", "2001:db8:5::10/64"}},
				},
			},
		},
		Services: []LinkSpec{
			{
				Name: "svcA", GWIf: "svc0",
				GWAddrs: []string{"198.19.10.1/24", "2001:db8:10::1/64"},
				Addrs:   []string{"198.19.10.10/24", "2001:db8:10::10/64"},
			},
			{
				Name: "svcB", GWIf: "svc1",
				GWAddrs: []string{"198.19.20.1/24", "2001:db8:20::1/64"},
				Addrs: []string{"198.19.20.10/24", "198.19.20.20/24", "198.19.20.53/24", "198.19.20.123/24",
					"2001:db8:20::10/64", "2001:db8:20::20/64", "2001:db8:20::53/64"},
			},
		},
		// Wider than the service networks so a test can also aim at an
		// unserved address (198.19.40.0/24, say) and reach the gateway.
		OrgRoutes: []string{"198.19.0.0/16", "2001:db8:10::/44", "2001:db8:20::/44"},
	}
}
