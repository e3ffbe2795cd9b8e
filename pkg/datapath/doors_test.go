package datapath

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/palisade-psn/palisade/internal/packets"
)

// The exception paths of the datapath (what passes without a rule, or as
// part of a flow): each door is shown closed with a hostile packet, and the
// exception it exists for kept with a benign one. Every drop is asserted
// by its exact reason.

var (
	gamma6   = netip.MustParseAddr("2001:db8:3::10")
	gw0      = netip.MustParseAddr("198.18.254.1")     // the harness gateway's own, on org0
	gw06     = netip.MustParseAddr("2001:db8:fe00::1") // its IPv6 address there
	router4  = netip.MustParseAddr("198.19.10.1")
	linkNode = netip.MustParseAddr("fe80::1")
)

// nd is an ICMPv6 neighbour-discovery message of type typ (133-137).
func nd(src, dst netip.Addr, typ, hopLimit uint8) packets.Spec {
	return packets.Spec{Src: src, Dst: dst, Proto: layers.IPProtocolICMPv6, ICMPType: typ, TTL: hopLimit,
		Payload: bytes.Repeat([]byte{0xab}, 64)}
}

func TestNeighbourDiscoveryStaysOnTheLink(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	solicited := netip.MustParseAddr("ff02::1:ff00:10")
	runCases(t, h, []verdictCase{
		{"ns to a link-local neighbour", "org0", nd(linkNode, netip.MustParseAddr("fe80::2"), 135, 255), xdpPass, ""},
		{"ns to a solicited-node group", "org0", nd(alpha6, solicited, 135, 255), xdpPass, ""},
		{"rs to all routers", "org0", nd(linkNode, netip.MustParseAddr("ff02::2"), 133, 255), xdpPass, ""},
		{"na to the gateway's own global address", "org0", nd(alpha6, gw06, 136, 255), xdpPass, ""},
		{"ns tunnelled to a service's global address", "org0", nd(alpha6, web6, 135, 255), xdpDrop, "link_control"},
		{"na tunnelled to another organisation's host", "org0", nd(alpha6, gamma6, 136, 255), xdpDrop, "link_control"},
		{"redirect to a service", "svc0", nd(web6, alpha6, 137, 255), xdpDrop, "link_control"},
		{"ns that crossed a router", "org0", nd(linkNode, netip.MustParseAddr("fe80::2"), 135, 64), xdpDrop, "link_control"},
		{"ns to a wider-scope group the gateway does not route", "org0", nd(linkNode, netip.MustParseAddr("ff05::1"), 135, 255), xdpPass, ""},
		{"mld report with a hop limit above 1", "org0", func() packets.Spec { s := mld(linkNode); s.TTL = 2; return s }(), xdpDrop, "link_control"},
		{"mld-typed packet to a unicast address", "org0", func() packets.Spec { s := mld(linkNode); s.Dst = web6; return s }(), xdpDrop, "link_control"},
	})
}

// arp builds an ARP frame: op 1 request, 2 reply.
func arp(op uint16, sender, target netip.Addr, mut func(*layers.ARP)) []byte {
	mac := net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	a := &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: op, SourceHwAddress: mac, SourceProtAddress: sender.AsSlice(),
		DstHwAddress: make([]byte, 6), DstProtAddress: target.AsSlice(),
	}
	if mut != nil {
		mut(a)
	}
	eth := &layers.Ethernet{SrcMAC: mac, DstMAC: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EthernetType: layers.EthernetTypeARP}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{}, eth, a); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func TestARPOnlyForTheGateway(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	cases := []struct {
		name   string
		frame  []byte
		want   uint32
		reason string
	}{
		{"request for the gateway's address", arp(1, alpha4, gw0, nil), xdpPass, ""},
		{"reply to the gateway", arp(2, alpha4, gw0, nil), xdpPass, ""},
		{"request for a service behind the gateway", arp(1, alpha4, web4, nil), xdpDrop, "link_control"},
		{"gratuitous announcement", arp(1, alpha4, alpha4, nil), xdpDrop, "link_control"},
		{"ipv6-sized protocol addresses", arp(1, alpha4, gw0, func(a *layers.ARP) { a.ProtAddressSize = 16 }), xdpDrop, "link_control"},
		{"unknown operation", arp(1, alpha4, gw0, func(a *layers.ARP) { a.Operation = 9 }), xdpDrop, "link_control"},
		{"cut short", arp(1, alpha4, gw0, nil)[:30], xdpDrop, "link_control"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { h.expect(t, "org0", c.frame, c.want, c.reason) })
	}
}

func TestICMPErrorsGoBackToTheQuotedSender(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	flow := udp(alpha4, web4, 46001, 5005)
	reply := udp(web4, alpha4, 5005, 46001)
	flow6 := tcp(alpha6, web6, 46002, 443, packets.SYN)
	runCases(t, h, []verdictCase{
		{"open a flow", "org0", flow, xdpPass, ""},
		{"its reply", "svc0", reply, xdpPass, ""},
		{"router: fragmentation needed back to the host", "svc0", icmpError(router4, alpha4, 3, flow), xdpPass, ""},
		{"host: port unreachable back to the service", "org0", icmpError(alpha4, web4, 3, reply), xdpPass, ""},
		{"host: error quoting the reply, sent elsewhere", "org0", icmpError(alpha4, patch4, 3, reply), xdpDrop, "icmp_error_mismatch"},
		{"host: error quoting its own packet, to the service", "org0", icmpError(alpha4, web4, 3, flow), xdpDrop, "icmp_error_mismatch"},
		{"host: error quoting its own packet, to itself", "org0", icmpError(alpha4, alpha4, 3, flow), xdpDrop, "icmp_error_mismatch"},
		{"another organisation quotes the flow", "org1", icmpError(gamma4, web4, 3, reply), xdpDrop, "icmp_error_mismatch"},
		{"spoofed source on the flow's own link", "org0", icmpError(netip.MustParseAddr("198.18.9.9"), web4, 3, reply), xdpDrop, "spoofed_source"},
		{"service side: error for the reply, to the service", "svc0", icmpError(router4, web4, 3, reply), xdpDrop, "icmp_error_mismatch"},
		{"oversized error", "svc0", withPayload(icmpError(router4, alpha4, 3, flow), 600), xdpDrop, "icmp_error_size"},
		{"error of 576 bytes", "svc0", withPayload(icmpError(router4, alpha4, 3, flow), 576-20-8-28), xdpPass, ""},
	})
	// IPv6 errors may be as long as the minimum MTU, no longer.
	tooBig := icmpError(web6, alpha6, 2, flow6)
	runCases(t, h, []verdictCase{
		{"ipv6 flow", "org0", flow6, xdpPass, ""},
		{"ipv6 packet too big of 1280 bytes", "svc0", withPayload(tooBig, 1280-40-8-48), xdpPass, ""},
		{"ipv6 error over 1280 bytes", "svc0", withPayload(tooBig, 1280-40-8-48+1), xdpDrop, "icmp_error_size"},
	})
}

// withPayload grows an ICMP error's quote with n bytes of the offending
// packet's payload, as a router quoting more of it does.
func withPayload(s packets.Spec, n int) packets.Spec {
	s.Payload = append(append([]byte{}, s.Payload...), make([]byte, n)...)
	return s
}

// TestICMPQuoteReadWhereItIs: an error whose ICMPv6 header sits past 511
// bytes of extension headers is read there. The old program folded the
// offset into 9 bits and read the quote from inside the extension header,
// where this frame carries a quote of a real flow.
func TestICMPQuoteReadWhereItIs(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	flow6 := udp(alpha6, web6, 46011, 443)
	h.expect(t, "org0", packets.Build(tcp(alpha6, web6, 46011, 443, packets.SYN)), xdpPass, "")
	real := icmpError(web6, alpha6, 2, tcp(alpha6, web6, 46011, 443, packets.SYN)).Payload
	fake := icmpError(web6, alpha6, 2, flow6).Payload // no such flow
	// ICMPv6 at 14+40+520 = 574; 574&0x1ff = 62, its quote at 70: byte
	// 14 of the destination options' body.
	body := make([]byte, 518)
	copy(body[14:], real)
	s := packets.Spec{Src: web6, Dst: alpha6, Proto: layers.IPProtocolICMPv6, ICMPType: 2, Payload: fake,
		IPv6Ext: []packets.Ext{{Type: layers.IPProtocolIPv6Destination, Body: body}}}
	frame := packets.Build(s)
	if off := len(frame) - len(fake) - 8; off != 574 {
		t.Fatalf("ICMPv6 header at %d, want 574", off)
	}
	h.expect(t, "svc0", frame, xdpDrop, "no_flow")
	s.Payload = real // the same error quoting the real flow where it is
	h.expect(t, "svc0", packets.Build(s), xdpPass, "")
}

func TestLaterFragmentsStayOnTheirIngress(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	first := withFrag(udp(alpha4, web4, 46021, 5005), 500, 0, true)
	later := withFrag(udp(alpha4, web4, 46021, 5005), 500, 185, false)
	runCases(t, h, []verdictCase{
		{"first fragment", "org0", first, xdpPass, ""},
		{"later fragment, spoofed from another organisation's link", "org1", later, xdpDrop, "fragment"},
		{"later fragment, spoofed on a vlan of that link", "org1", vlan(later, 100), xdpDrop, "fragment"},
		{"later fragment from the service side", "svc0", later, xdpDrop, "fragment"},
		{"later fragment where the first came in", "org0", later, xdpPass, ""},
	})
}

// ipv6FragAfterFrag builds an IPv6 fragment whose fragment header is
// followed by a destination-options header: the fragment header's next
// header (60) is what every fragment of the datagram names.
func ipv6FragAfterFrag(src, dst netip.Addr, id uint32, off uint16, more bool, rest []byte) []byte {
	fh := []byte{60, 0, byte(off >> 5), byte(off << 3), byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
	if more {
		fh[3] |= 1
	}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv6}
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolIPv6Fragment, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, eth, ip, gopacket.Payload(append(fh, rest...))); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func TestIPv6FragmentKeysAgree(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	// The first fragment: destination options, then TCP (a SYN to 443).
	syn := packets.Build(tcp(alpha6, web6, 46031, 443, packets.SYN))
	first := append([]byte{6, 0, 1, 4, 0, 0, 0, 0}, syn[14+40:]...)
	h.expect(t, "org0", ipv6FragAfterFrag(alpha6, web6, 900, 0, true, first), xdpPass, "")
	h.expect(t, "org0", ipv6FragAfterFrag(alpha6, web6, 900, 185, false, make([]byte, 64)), xdpPass, "")
	h.expect(t, "org1", ipv6FragAfterFrag(alpha6, web6, 900, 185, false, make([]byte, 64)), xdpDrop, "fragment")
}

func TestFlowsAreNotTakenOver(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	runCases(t, h, []verdictCase{
		{"alpha opens a udp flow", "org0", udp(alpha4, web4, 46041, 5005), xdpPass, ""},
		{"the same 5-tuple from another organisation's link", "org1", udp(alpha4, web4, 46041, 5005), xdpDrop, "flow_ingress"},
		{"from another vlan of that link", "org1", vlan(udp(alpha4, web4, 46041, 5005), 100), xdpDrop, "flow_ingress"},
		{"the flow still answers its owner", "svc0", udp(web4, alpha4, 5005, 46041), xdpPass, ""},
		{"and carries its owner's packets", "org0", udp(alpha4, web4, 46041, 5005), xdpPass, ""},
		{"alpha opens a tcp flow", "org0", tcp(alpha4, web4, 46042, 443, packets.SYN), xdpPass, ""},
		{"a syn on its 5-tuple from elsewhere", "org1", tcp(alpha4, web4, 46042, 443, packets.SYN), xdpDrop, "flow_ingress"},
	})
	k, _ := FlowKeyOf(alpha4, web4, 46042, 443, 6)
	var f BoundaryPalFlow
	if err := h.dp.Maps().Flows.Lookup(&k, &f); err != nil {
		t.Fatal(err)
	}
	if f.OrigIfindex != uint32(h.ifindex["org0"]) {
		t.Errorf("flow's ingress is %d after the takeover attempt, want org0 (%d)", f.OrigIfindex, h.ifindex["org0"])
	}
}

func TestReversePath(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	for _, r := range []string{
		"198.18.1.128/25 dev org1", // part of alpha's prefix routed to another link
		"2001:db8:1:8000::/49 dev org1",
		"198.19.77.0/24 dev org1", // a wide-http destination routed away from the services
	} {
		h.ip(t, "route add "+r)
	}
	far := netip.MustParseAddr("198.19.77.7")
	runCases(t, h, []verdictCase{
		{"source routed to another interface", "org0", tcp(netip.MustParseAddr("198.18.1.200"), web4, 46051, 443, packets.SYN), xdpDrop, "reverse_path"},
		{"ipv6 source routed to another interface", "org0", tcp(netip.MustParseAddr("2001:db8:1:8000::1"), web6, 46052, 443, packets.SYN), xdpDrop, "reverse_path"},
		{"source routed here", "org0", tcp(alpha4, far, 46053, 80, packets.SYN), xdpPass, ""},
		{"reply from where the responder is not routed", "svc0", tcp(far, alpha4, 80, 46053, packets.SYN|packets.ACK), xdpDrop, "reverse_path"},
		{"error from where the responder is not routed", "svc0", icmpError(router4, alpha4, 3, tcp(alpha4, far, 46053, 80, packets.SYN)), xdpDrop, "reverse_path"},
		{"reply from where the responder is routed", "svc0", tcp(web4, alpha4, 443, 46054, packets.SYN|packets.ACK), xdpDrop, "no_flow"},
		{"flow to a service", "org0", tcp(alpha4, web4, 46054, 443, packets.SYN), xdpPass, ""},
		{"its reply records the reply ingress", "svc0", tcp(web4, alpha4, 443, 46054, packets.SYN|packets.ACK), xdpPass, ""},
	})
	// The recorded ingress holds for the flow's life: a route change does
	// not move it, and nothing else may answer in its place.
	h.ip(t, "route add 198.19.10.0/28 dev org1")
	runCases(t, h, []verdictCase{
		{"later replies come in where the first did", "svc0", tcp(web4, alpha4, 443, 46054, packets.ACK), xdpPass, ""},
	})
}

// TestVLANDevicesLeadBackToTheirParent: on a host with VLAN devices the
// route to a tagged organisation names the VLAN device, not the interface
// XDP runs on; vlan_devs says which parent and tag it stands for. (This
// kernel may lack 8021q: a veth stands in for the VLAN device.)
func TestVLANDevicesLeadBackToTheirParent(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	l := h.ns
	if err := h.lab.Veth(l, "org1v100", h.peer, "porg1v100"); err != nil {
		t.Fatal(err)
	}
	h.ip(t, "route replace 198.18.2.0/24 dev org1v100")
	dev, err := l.Ifindex("org1v100")
	if err != nil {
		t.Fatal(err)
	}
	beta := vlan(tcp(beta4, patch4, 46061, 80, packets.SYN), 100)
	h.expect(t, "org1", packets.Build(beta), xdpDrop, "reverse_path")
	if err := h.dp.SetVLANDevices([]VLANDev{{Ifindex: dev, Parent: h.ifindex["org1"], VLAN: 200}}); err != nil {
		t.Fatal(err)
	}
	beta.SPort++
	h.expect(t, "org1", packets.Build(beta), xdpDrop, "reverse_path") // another VLAN's device
	if err := h.dp.SetVLANDevices([]VLANDev{{Ifindex: dev, Parent: h.ifindex["org1"], VLAN: 100}}); err != nil {
		t.Fatal(err)
	}
	beta.SPort++
	h.expect(t, "org1", packets.Build(beta), xdpPass, "")
	if err := h.dp.SetVLANDevices(nil); err != nil {
		t.Fatal(err)
	}
	beta.SPort++
	h.expect(t, "org1", packets.Build(beta), xdpDrop, "reverse_path")
}

// TestPriorityTaggedFramesAreNotForwardedAskew: a VLAN 0 (priority) tag
// leaves vlan 0 for identity but moves the IP header; forwarding in XDP
// would read and rewrite the wrong bytes, so the frame goes to the kernel
// untouched. The same frame untagged is forwarded in XDP.
func TestPriorityTaggedFramesAreNotForwardedAskew(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	if err := h.dp.Configure(Settings{Forward: true, Timeouts: DefaultTimeouts()}); err != nil {
		t.Fatal(err)
	}
	svc := uint32(h.ifindex["svc0"])
	if err := h.dp.Maps().TxPorts.Put(svc, svc); err != nil {
		t.Fatal(err)
	}
	h.ip(t, "neigh add "+web4.String()+" lladdr 02:00:00:00:00:99 dev svc0")
	act, _ := h.runOut(t, "org0", packets.Build(tcp(alpha4, web4, 46071, 443, packets.SYN)))
	if act != xdpRedirect {
		t.Fatalf("untagged allowed frame: action %d, want redirect (the harness does not forward)", act)
	}
	tagged := packets.Build(vlan(tcp(alpha4, web4, 46072, 443, packets.SYN), 0))
	act, out := h.runOut(t, "org0", tagged)
	if act != xdpPass || !bytes.Equal(out, tagged) {
		t.Fatalf("priority-tagged frame: action %d, changed %v; want pass, unchanged", act, !bytes.Equal(out, tagged))
	}
}

// expect runs one frame and checks its action and the one drop reason
// counted (none for "").
func (h *harness) expect(t *testing.T, iface string, frame []byte, want uint32, reason string) {
	t.Helper()
	before := h.drops()
	if got := h.run(t, iface, frame); got != want {
		t.Errorf("action = %d, want %d", got, want)
	}
	after := h.drops()
	for r, n := range after {
		d := n.Packets - before[r].Packets
		if (r == reason && d != 1) || (r != reason && d != 0) {
			t.Errorf("drops[%s] grew by %d (want reason %q)", r, d, reason)
		}
	}
}

// runOut runs one frame and returns the action and the frame as the
// program left it.
func (h *harness) runOut(t *testing.T, iface string, frame []byte) (uint32, []byte) {
	t.Helper()
	out := make([]byte, len(frame)+256)
	var ret uint32
	err := h.ns.Do(func() error {
		opts := &ebpf.RunOptions{Data: frame, DataOut: out,
			Context: xdpMD{DataEnd: uint32(len(frame)), IngressIfindex: uint32(h.ifindex[iface])}}
		var err error
		ret, err = h.dp.Program().Run(opts)
		out = opts.DataOut
		return err
	})
	if err != nil {
		t.Fatalf("run program: %v", err)
	}
	return ret, out
}

// ip runs `ip ARGS` in the harness gateway's namespace.
func (h *harness) ip(t *testing.T, args string) {
	t.Helper()
	if out, err := h.ns.Exec(context.Background(), "sh", "-c", "ip "+args); err != nil {
		t.Fatalf("ip %s: %v: %s", args, err, out)
	}
}
