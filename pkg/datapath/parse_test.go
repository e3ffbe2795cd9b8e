package datapath

import (
	"net/netip"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/palisade-psn/palisade/internal/packets"
)

// mld is an MLDv2 report (ICMPv6 type 143) from src to ff02::16, with
// the hop limit of 1 MLD is sent with.
func mld(src netip.Addr) packets.Spec {
	return packets.Spec{Src: src, Dst: netip.MustParseAddr("ff02::16"), Proto: layers.IPProtocolICMPv6, ICMPType: 143, TTL: 1}
}

func withExt(s packets.Spec, ext ...packets.Ext) packets.Spec {
	s.IPv6Ext = ext
	return s
}

func withOpts(s packets.Spec, opts ...layers.IPv4Option) packets.Spec {
	s.IPv4Opts = opts
	return s
}

func withFrag(s packets.Spec, id uint32, off uint16, more bool) packets.Spec {
	s.Frag = &packets.Frag{ID: id, Offset: off, More: more}
	return s
}

var (
	hopByHop = packets.Ext{Type: layers.IPProtocolIPv6HopByHop, Body: []byte{1, 4, 0, 0, 0, 0}}
	destOpts = packets.Ext{Type: layers.IPProtocolIPv6Destination, Body: []byte{1, 4, 0, 0, 0, 0}}
	// Type 4 (segment routing), segments left 0: already at its destination.
	routingDone = packets.Ext{Type: layers.IPProtocolIPv6Routing, Body: []byte{4, 0, 0, 0, 0, 0}}
	routingLeft = packets.Ext{Type: layers.IPProtocolIPv6Routing, Body: []byte{4, 1, 0, 0, 0, 0}}
	nop         = layers.IPv4Option{OptionType: 1, OptionLength: 1}
	timestamp   = layers.IPv4Option{OptionType: 68, OptionLength: 8, OptionData: []byte{5, 0, 0, 0, 0, 0}}
	lsrr        = layers.IPv4Option{OptionType: 131, OptionLength: 7, OptionData: []byte{4, 198, 19, 10, 9}}
)

func TestParsePaths(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	syn := func(sport uint16) packets.Spec { return tcp(alpha6, web6, sport, 443, packets.SYN) }
	syn4 := func(sport uint16) packets.Spec { return tcp(alpha4, web4, sport, 443, packets.SYN) }
	cases := []verdictCase{
		{"ipv6 hop-by-hop then destination options", "org0", withExt(syn(41001), hopByHop, destOpts), xdpPass, ""},
		{"ipv6 finished routing header", "org0", withExt(syn(41002), hopByHop, routingDone), xdpPass, ""},
		{"ipv6 routing header with segments left", "org0", withExt(syn(41003), routingLeft), xdpDrop, "ipv6_ext_header"},
		{"ipv6 chain longer than walked", "org0", withExt(syn(41004), hopByHop, destOpts, destOpts, destOpts, destOpts, destOpts, destOpts), xdpDrop, "ipv6_ext_header"},
		{"ipv6 esp not understood", "org0", packets.Spec{Src: alpha6, Dst: web6, Proto: layers.IPProtocolESP}, xdpDrop, "l4_unsupported"},
		{"ipv4 nop and timestamp options", "org0", withOpts(syn4(41005), nop, timestamp), xdpPass, ""},
		{"ipv4 loose source route", "org0", withOpts(syn4(41006), nop, lsrr), xdpDrop, "ipv4_source_route"},
		{"vlan tagged, dropped by policy not parser", "org1", vlan(tcp(beta4, web4, 41007, 443, packets.SYN), 100), xdpDrop, "suspended"},
		{"ipv4 later fragment without a first", "org0", withFrag(syn4(41008), 77, 185, false), xdpDrop, "fragment"},
		{"ipv4 fragment overlapping the tcp header", "org0", withFrag(syn4(41009), 78, 1, true), xdpDrop, "fragment"},
		{"ipv6 later fragment without a first", "org0", withFrag(syn(41010), 79, 185, false), xdpDrop, "fragment"},
		{"ipv6 first fragment of an allowed flow", "org0", withFrag(syn(41011), 80, 0, true), xdpPass, ""},
		{"ipv6 later fragment follows its first", "org0", withFrag(syn(41011), 80, 185, false), xdpPass, ""},
		{"ipv4 first fragment of a refused flow", "org0", withFrag(tcp(alpha4, web4, 41012, 22, packets.SYN), 81, 0, true), xdpDrop, "no_rule"},
		{"ipv4 later fragment of a refused flow", "org0", withFrag(tcp(alpha4, web4, 41012, 22, packets.SYN), 81, 185, false), xdpDrop, "fragment"},
		{"ipv4 first fragment of an allowed flow", "org0", withFrag(syn4(41013), 82, 0, true), xdpPass, ""},
		{"ipv4 later fragment follows its first", "org0", withFrag(syn4(41013), 82, 185, false), xdpPass, ""},
		{"ipv6 mld report from link-local is link control", "org0", mld(netip.MustParseAddr("fe80::1")), xdpPass, ""},
		{"ipv6 mld report during dad is link control", "org0", mld(netip.IPv6Unspecified()), xdpPass, ""},
		{"ipv6 mld-typed packet from a routable source is not", "org0", mld(alpha6), xdpDrop, "link_control"},
	}
	runCases(t, h, cases)
}

// TestMalformed feeds frames cut or corrupted at every layer: each is
// dropped and counted by the reason of the layer that failed.
func TestMalformed(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	good4 := packets.Build(tcp(alpha4, web4, 42001, 443, packets.SYN))
	good6 := packets.Build(tcp(alpha6, web6, 42002, 443, packets.SYN))
	tagged := packets.Build(vlan(tcp(beta4, patch4, 42003, 80, packets.SYN), 100))
	mut := func(b []byte, f func([]byte)) []byte {
		c := append([]byte{}, b...)
		f(c)
		return c
	}
	cases := []struct {
		name, reason string
		frame        []byte
	}{
		{"vlan tag cut", "l2_truncated", tagged[:16]},
		{"ipv4 header cut", "ipv4_malformed", good4[:14+12]},
		{"ipv4 ihl below 5", "ipv4_malformed", mut(good4, func(b []byte) { b[14] = 0x44 })},
		{"ipv4 version wrong", "ipv4_malformed", mut(good4, func(b []byte) { b[14] = 0x65 })},
		{"ipv4 total length past frame", "ipv4_malformed", mut(good4, func(b []byte) { b[16], b[17] = 0x05, 0xdc })},
		{"ipv4 total length below header", "ipv4_malformed", mut(good4, func(b []byte) { b[16], b[17] = 0, 10 })},
		{"ipv4 options past header", "ipv4_malformed", mut(packets.Build(withOpts(tcp(alpha4, web4, 42004, 443, packets.SYN), timestamp)), func(b []byte) { b[14+21] = 40 })},
		{"tcp header cut", "l4_truncated", mut(good4[:14+20+10], func(b []byte) { b[16], b[17] = 0, 30 })},
		{"tcp data offset past frame", "l4_truncated", mut(good4, func(b []byte) { b[14+20+12] = 0xf0 })},
		{"ipv6 header cut", "ipv6_malformed", good6[:14+30]},
		{"ipv6 payload length past frame", "ipv6_malformed", mut(good6, func(b []byte) { b[18], b[19] = 0x05, 0xdc })},
		{"ipv6 extension header cut", "ipv6_malformed", mut(packets.Build(withExt(tcp(alpha6, web6, 42005, 443, packets.SYN), hopByHop)), func(b []byte) { b[14+40+1] = 200 })},
		{"udp length below header", "l4_truncated", mut(packets.Build(udp(alpha4, web4, 42006, 5005)), func(b []byte) { b[14+20+4], b[14+20+5] = 0, 4 })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := h.drops()
			if got := h.run(t, "org0", c.frame); got != xdpDrop {
				t.Errorf("action = %d, want drop", got)
			}
			after := h.drops()
			if d := after[c.reason].Packets - before[c.reason].Packets; d != 1 {
				t.Errorf("drops[%s] grew by %d, want 1 (all: %v)", c.reason, d, after)
			}
		})
	}
}
