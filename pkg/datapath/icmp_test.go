package datapath

import (
	"net/netip"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/palisade-psn/palisade/internal/packets"
)

// icmpError is an ICMP error from src to dst quoting the IP header and the
// first 8 transport bytes of the packet orig, as a router or host sends it.
func icmpError(src, dst netip.Addr, typ uint8, orig packets.Spec) packets.Spec {
	frame := packets.Build(orig)
	quote := 14 + 20 + 8
	proto := layers.IPProtocolICMPv4
	if src.Is6() {
		quote, proto = 14+40+8, layers.IPProtocolICMPv6
	}
	return packets.Spec{Src: src, Dst: dst, Proto: proto, ICMPType: typ, Payload: frame[14:quote]}
}

func TestRelatedICMPErrors(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	flow4 := tcp(alpha4, web4, 47001, 443, packets.SYN)
	flow6 := tcp(alpha6, web6, 47003, 443, packets.SYN)
	router := netip.MustParseAddr("198.19.10.1")
	runCases(t, h, []verdictCase{
		{"open a flow", "org0", flow4, xdpPass, ""},
		{"fragmentation needed for the flow", "svc0", icmpError(router, alpha4, 3, flow4), xdpPass, ""},
		{"time exceeded for the flow", "svc0", icmpError(router, alpha4, 11, flow4), xdpPass, ""},
		{"unreachable for a flow that does not exist", "svc0", icmpError(router, alpha4, 3, tcp(alpha4, web4, 47002, 443, packets.SYN)), xdpDrop, "no_flow"},
		{"unreachable for a refused packet", "svc0", icmpError(router, alpha4, 3, tcp(alpha4, web4, 47004, 22, packets.SYN)), xdpDrop, "no_flow"},
		{"error injected from another organisation's link", "org1", icmpError(router, alpha4, 3, flow4), xdpDrop, "spoofed_source"},
		{"open an ipv6 flow", "org0", flow6, xdpPass, ""},
		{"ipv6 packet too big for the flow", "svc0", icmpError(web6, alpha6, 2, flow6), xdpPass, ""},
		{"ipv6 unreachable for no flow", "svc0", icmpError(web6, alpha6, 1, tcp(alpha6, web6, 47005, 443, packets.SYN)), xdpDrop, "no_flow"},
	})
}
