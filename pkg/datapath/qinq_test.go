package datapath

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/palisade-psn/palisade/internal/packets"
)

// QinQ identity (testdata/qinq): delta comes in on org1 with outer tag 100
// and inner tag 200, epsilon with 100 then 201; zeta has the single tag
// 200, beta 101, gamma is untagged there. A double-tagged frame is keyed
// on (ifindex, outer, inner), a single-tagged one on (ifindex, vlan, 0):
// no choice of tags a host can make finds another ingress than the one
// both tags name.

var (
	delta4, delta6     = netip.MustParseAddr("198.18.4.10"), netip.MustParseAddr("2001:db8:4::10")
	epsilon4, epsilon6 = netip.MustParseAddr("198.18.5.10"), netip.MustParseAddr("2001:db8:5::10")
	zeta4, zeta6       = netip.MustParseAddr("198.18.6.10"), netip.MustParseAddr("2001:db8:6::10")
	gammaQ4, gammaQ6   = netip.MustParseAddr("198.18.3.10"), netip.MustParseAddr("2001:db8:3::10")
)

func TestQinQIdentity(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/qinq")
	type addrs struct{ delta, epsilon, zeta, gamma, web netip.Addr }
	for _, fam := range []struct {
		name string
		a    addrs
	}{
		{"ipv4", addrs{delta4, epsilon4, zeta4, gammaQ4, web4}},
		{"ipv6", addrs{delta6, epsilon6, zeta6, gammaQ6, web6}},
	} {
		a := fam.a
		syn := func(src netip.Addr, port uint16, tags ...uint16) packets.Spec {
			return vlan(tcp(src, a.web, port, 443, packets.SYN), tags...)
		}
		t.Run(fam.name, func(t *testing.T) {
			before := h.orgCounts(t)
			runCases(t, h, []verdictCase{
				{"its own outer and inner tag", "org1", syn(a.delta, 47001, 100, 200), xdpPass, ""},
				{"the other qinq organisation on its own tags", "org1", syn(a.epsilon, 47002, 100, 201), xdpPass, ""},
				{"the single tag equal to its inner tag, its own", "org1", syn(a.zeta, 47003, 200), xdpPass, ""},
				{"another inner tag: epsilon's ingress", "org1", syn(a.delta, 47004, 100, 201), xdpDrop, "spoofed_source"},
				{"another outer tag", "org1", syn(a.delta, 47005, 101, 200), xdpDrop, "unknown_ingress"},
				{"the outer tag alone", "org1", syn(a.delta, 47006, 100), xdpDrop, "unknown_ingress"},
				{"the inner tag alone: zeta's ingress", "org1", syn(a.delta, 47007, 200), xdpDrop, "spoofed_source"},
				{"the tags swapped", "org1", syn(a.delta, 47008, 200, 100), xdpDrop, "unknown_ingress"},
				{"untagged: gamma's ingress", "org1", syn(a.delta, 47009, nil...), xdpDrop, "spoofed_source"},
				{"its tags on another interface", "org0", syn(a.delta, 47010, 100, 200), xdpDrop, "unknown_ingress"},
				{"an inner tag inside a single-tagged vlan", "org1", syn(a.zeta, 47011, 200, 5), xdpDrop, "unknown_ingress"},
				{"zeta's source on delta's tags", "org1", syn(a.zeta, 47012, 100, 200), xdpDrop, "spoofed_source"},
				{"a priority tag before the inner tag", "org1", syn(a.delta, 47013, 0, 200), xdpDrop, "unknown_ingress"},
				{"a priority tag as the inner tag is the outer tag alone", "org1", syn(a.delta, 47014, 100, 0), xdpDrop, "unknown_ingress"},
				{"three tags", "org1", syn(a.delta, 47015, 100, 200, 300), xdpDrop, "vlan_depth"},
			})
			after := h.orgCounts(t)
			for org, want := range map[string]uint64{"delta": 1, "epsilon": 1, "zeta": 1, "gamma": 0, "beta": 0} {
				if got := after[org]["allow"].Packets - before[org]["allow"].Packets; got != want {
					t.Errorf("%s allowed %d packets, want %d", org, got, want)
				}
			}
		})
	}
}

// The tag protocol identifiers are not part of identity: an outer 802.1Q
// tag (0x8100) in place of 802.1ad's (0x88a8) names the same ingress.
func TestQinQTagProtocolsAlike(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/qinq")
	f := packets.Build(vlan(tcp(delta4, web4, 47101, 443, packets.SYN), 100, 200))
	if f[12] != 0x88 || f[13] != 0xa8 {
		t.Fatalf("outer tag protocol %x, want 88a8", f[12:14])
	}
	f[12], f[13] = 0x81, 0x00
	h.expect(t, "org1", f, xdpPass, "")
	f = packets.Build(vlan(tcp(delta4, web4, 47102, 443, packets.SYN), 101, 200))
	f[12], f[13] = 0x81, 0x00
	h.expect(t, "org1", f, xdpDrop, "unknown_ingress")
}

// A flow opened on a QinQ ingress stays there: the originator's later
// packets with another inner or outer tag, or with one of its tags alone,
// are refused as from another ingress.
func TestQinQFlowStaysOnItsTags(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/qinq")
	ack := func(tags ...uint16) packets.Spec { return vlan(tcp(delta4, web4, 47201, 443, packets.ACK), tags...) }
	runCases(t, h, []verdictCase{
		{"opened", "org1", vlan(tcp(delta4, web4, 47201, 443, packets.SYN), 100, 200), xdpPass, ""},
		{"continued on its tags", "org1", ack(100, 200), xdpPass, ""},
		{"another inner tag", "org1", ack(100, 201), xdpDrop, "flow_ingress"},
		{"another outer tag", "org1", ack(101, 200), xdpDrop, "flow_ingress"},
		{"the outer tag alone", "org1", ack(100), xdpDrop, "flow_ingress"},
		{"the inner tag alone", "org1", ack(200), xdpDrop, "flow_ingress"},
		{"untagged", "org1", ack(), xdpDrop, "flow_ingress"},
		{"the reply", "svc0", tcp(web4, delta4, 443, 47201, packets.SYN|packets.ACK), xdpPass, ""},
	})
}

// XDP cannot push the two tags a reply towards a QinQ ingress needs, nor
// forward a tagged frame (its IP header is not after the Ethernet header),
// so both directions of a QinQ flow go to the kernel, unchanged, even with
// forwarding on and the route and neighbour known; the kernel's VLAN
// devices tag and forward them. An untagged organisation's on the same
// interface are forwarded in XDP.
func TestQinQFlowsGoToTheKernel(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/qinq")
	if err := h.dp.Configure(Settings{Forward: true, Timeouts: DefaultTimeouts()}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"org1", "svc0"} {
		idx := uint32(h.ifindex[name])
		if err := h.dp.Maps().TxPorts.Put(idx, idx); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []struct{ addr, dev string }{{web4.String(), "svc0"}, {delta4.String(), "org1"}, {gammaQ4.String(), "org1"},
		{web6.String(), "svc0"}, {delta6.String(), "org1"}, {gammaQ6.String(), "org1"}} {
		h.ip(t, "neigh replace "+n.addr+" lladdr 02:00:00:00:00:99 dev "+n.dev)
	}
	for _, fam := range []struct{ delta, gamma, web netip.Addr }{{delta4, gammaQ4, web4}, {delta6, gammaQ6, web6}} {
		fwd0 := h.forwardCounts(t)
		out := packets.Build(vlan(tcp(fam.delta, fam.web, 47301, 443, packets.SYN), 100, 200))
		h.wantUnchangedPass(t, "qinq first packet", "org1", out)
		back := packets.Build(tcp(fam.web, fam.delta, 443, 47301, packets.SYN|packets.ACK))
		h.wantUnchangedPass(t, "reply towards the qinq ingress", "svc0", back)
		fwd1 := h.forwardCounts(t)
		if s, x := fwd1["stack"].Packets-fwd0["stack"].Packets, fwd1["xdp"].Packets-fwd0["xdp"].Packets; s != 2 || x != 0 {
			t.Errorf("%s: qinq flow went %d packets to the stack, %d forwarded in XDP; want 2 and 0", fam.delta, s, x)
		}
		if act, _ := h.runOut(t, "org1", packets.Build(tcp(fam.gamma, fam.web, 47302, 443, packets.SYN))); act != xdpRedirect {
			t.Errorf("%s: untagged first packet: action %d, want redirect", fam.gamma, act)
		}
		if act, _ := h.runOut(t, "svc0", packets.Build(tcp(fam.web, fam.gamma, 443, 47302, packets.SYN|packets.ACK))); act != xdpRedirect {
			t.Errorf("%s: reply to the untagged organisation: action %d, want redirect", fam.gamma, act)
		}
	}
}

// With QinQ devices on the host (eth.100 an 802.1ad device, eth.100.200 an
// 802.1Q device on it), the route to delta names the inner device, which
// vlan_devs resolves to org1 with both tags. A device of either tag alone,
// or of another inner tag, does not lead back to delta's ingress. (This
// kernel may lack 8021q: a veth stands in for the QinQ device.)
func TestQinQDevicesLeadBackToTheirParent(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/qinq")
	if err := h.lab.Veth(h.ns, "org1q", h.peer, "porg1q"); err != nil {
		t.Fatal(err)
	}
	h.ip(t, "route replace 198.18.4.0/24 dev org1q")
	dev, err := h.ns.Ifindex("org1q")
	if err != nil {
		t.Fatal(err)
	}
	syn := vlan(tcp(delta4, web4, 47401, 443, packets.SYN), 100, 200)
	for _, tc := range []struct {
		vlan, inner uint16
		want        uint32
		reason      string
	}{
		{0, 0, xdpDrop, "reverse_path"}, // no device known
		{100, 0, xdpDrop, "reverse_path"},
		{200, 0, xdpDrop, "reverse_path"},
		{100, 201, xdpDrop, "reverse_path"},
		{100, 200, xdpPass, ""},
	} {
		var devs []VLANDev
		if tc.vlan != 0 {
			devs = []VLANDev{{Ifindex: dev, Parent: h.ifindex["org1"], VLAN: tc.vlan, InnerVLAN: tc.inner}}
		}
		if err := h.dp.SetVLANDevices(devs); err != nil {
			t.Fatal(err)
		}
		syn.SPort++
		t.Logf("vlan device %d/%d", tc.vlan, tc.inner)
		h.expect(t, "org1", packets.Build(syn), tc.want, tc.reason)
	}
}

func (h *harness) orgCounts(t *testing.T) map[string]map[string]Counter {
	t.Helper()
	c, err := h.dp.Counters().OrgCounts()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (h *harness) forwardCounts(t *testing.T) map[string]Counter {
	t.Helper()
	c, err := h.dp.Counters().ForwardCounts()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantUnchangedPass runs frame and wants it handed to the kernel as it came.
func (h *harness) wantUnchangedPass(t *testing.T, what, iface string, frame []byte) {
	t.Helper()
	act, out := h.runOut(t, iface, frame)
	if act != xdpPass || !bytes.Equal(out, frame) {
		t.Errorf("%s: action %d, changed %v; want pass, unchanged", what, act, !bytes.Equal(out, frame))
	}
}
