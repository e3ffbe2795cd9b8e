package datapath

import (
	"net/netip"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/palisade-psn/palisade/internal/packets"
)

var (
	alpha4   = netip.MustParseAddr("198.18.1.10")
	alpha6   = netip.MustParseAddr("2001:db8:1::10")
	beta4    = netip.MustParseAddr("198.18.2.10")
	gamma4   = netip.MustParseAddr("198.18.3.200")
	web4     = netip.MustParseAddr("198.19.10.5")
	web6     = netip.MustParseAddr("2001:db8:10::5")
	patch4   = netip.MustParseAddr("198.19.20.10")
	partner4 = netip.MustParseAddr("198.19.40.7")
)

func tcp(src, dst netip.Addr, sport, dport uint16, flags uint8) packets.Spec {
	return packets.Spec{Src: src, Dst: dst, Proto: layers.IPProtocolTCP, SPort: sport, DPort: dport, Flags: flags}
}

func udp(src, dst netip.Addr, sport, dport uint16) packets.Spec {
	return packets.Spec{Src: src, Dst: dst, Proto: layers.IPProtocolUDP, SPort: sport, DPort: dport}
}

func echo(src, dst netip.Addr, id uint16, reply bool) packets.Spec {
	p := layers.IPProtocolICMPv4
	if src.Is6() {
		p = layers.IPProtocolICMPv6
	}
	return packets.Spec{Src: src, Dst: dst, Proto: p, ICMPID: id, EchoReply: reply}
}

func vlan(s packets.Spec, ids ...uint16) packets.Spec {
	s.VLANs = ids
	return s
}

type verdictCase struct {
	name   string
	iface  string
	spec   packets.Spec
	want   uint32 // XDP action
	reason string // drop reason counted, "" for none
}

func TestVerdicts(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	cases := []verdictCase{
		{"service rule allows tcp 443", "org0", tcp(alpha4, web4, 40001, 443, packets.SYN), xdpPass, ""},
		{"port not in any rule", "org0", tcp(alpha4, web4, 40002, 22, packets.SYN), xdpDrop, "no_rule"},
		{"shorter covering prefix folds in", "org0", tcp(alpha4, web4, 40003, 80, packets.SYN), xdpPass, ""},
		{"udp port range", "org0", udp(alpha4, web4, 40004, 5005), xdpPass, ""},
		{"udp past range end", "org0", udp(alpha4, web4, 40005, 5011), xdpDrop, "no_rule"},
		{"icmp echo", "org0", echo(alpha4, web4, 7, false), xdpPass, ""},
		{"icmpv6 echo", "org0", echo(alpha6, web6, 7, false), xdpPass, ""},
		{"ipv6 tcp 443", "org0", tcp(alpha6, web6, 40006, 443, packets.SYN), xdpPass, ""},
		{"ipv6 udp not allowed", "org0", udp(alpha6, web6, 40007, 5005), xdpDrop, "no_rule"},
		{"inspected service passes marked", "org0", tcp(alpha4, partner4, 40008, 8443, packets.SYN), xdpPass, ""},
		{"destination not in ruleset", "org0", tcp(alpha4, netip.MustParseAddr("198.18.200.1"), 40009, 443, packets.SYN), xdpDrop, "no_rule"},
		{"source not registered on ingress", "org0", tcp(netip.MustParseAddr("198.18.9.9"), web4, 40010, 443, packets.SYN), xdpDrop, "spoofed_source"},
		{"another org's source on this ingress", "org0", tcp(gamma4, web4, 40011, 443, packets.SYN), xdpDrop, "spoofed_source"},
		{"org behind untagged org1", "org1", tcp(gamma4, web4, 40012, 443, packets.SYN), xdpPass, ""},
		{"suspended org keeps remediation", "org1", vlan(tcp(beta4, patch4, 40013, 80, packets.SYN), 100), xdpPass, ""},
		{"suspended org loses the rest", "org1", vlan(tcp(beta4, web4, 40014, 443, packets.SYN), 100), xdpDrop, "suspended"},
		{"vlan not in policy", "org1", vlan(tcp(beta4, patch4, 40015, 80, packets.SYN), 999), xdpDrop, "unknown_ingress"},
		{"qinq parsed, not in policy", "org1", vlan(tcp(beta4, patch4, 40016, 80, packets.SYN), 100, 5), xdpDrop, "unknown_ingress"},
		{"three tags", "org1", vlan(tcp(beta4, patch4, 40017, 80, packets.SYN), 100, 5, 6), xdpDrop, "vlan_depth"},
		{"tcp ack without flow", "org0", tcp(alpha4, web4, 40018, 443, packets.ACK), xdpDrop, "no_flow"},
		{"syn-ack without flow", "org0", tcp(alpha4, web4, 40019, 443, packets.SYN|packets.ACK), xdpDrop, "no_flow"},
		{"echo reply without flow", "org0", echo(alpha4, web4, 9, true), xdpDrop, "no_flow"},
		{"unsolicited from the service side", "svc0", tcp(web4, alpha4, 443, 40020, packets.SYN), xdpDrop, "no_flow"},
		{"dns response from the service side", "svc0", udp(web4, alpha4, 53, 40021), xdpDrop, "no_flow"},
		{"ingress not attached to policy", "svc0", tcp(alpha4, web4, 40022, 443, packets.SYN), xdpDrop, "no_flow"},
		{"gre is not understood", "org0", packets.Spec{Src: alpha4, Dst: web4, Proto: layers.IPProtocolGRE}, xdpDrop, "l4_unsupported"},
		{"lldp is not understood", "org0", packets.Spec{Src: alpha4, Dst: web4, Proto: layers.IPProtocolUDP, EtherType: 0x88cc}, xdpDrop, "l3_unsupported"},
	}
	runCases(t, h, cases)
}

func runCases(t *testing.T, h *harness, cases []verdictCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := h.drops()
			got := h.run(t, c.iface, packets.Build(c.spec))
			if got != c.want {
				t.Errorf("action = %d, want %d", got, c.want)
			}
			after := h.drops()
			for reason, n := range after {
				delta := n.Packets - before[reason].Packets
				switch {
				case reason == c.reason && delta != 1:
					t.Errorf("drops[%s] grew by %d, want 1", reason, delta)
				case reason != c.reason && delta != 0:
					t.Errorf("drops[%s] grew by %d, want 0", reason, delta)
				}
			}
		})
	}
}
