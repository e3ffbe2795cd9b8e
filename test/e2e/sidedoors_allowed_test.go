package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/palisade-psn/palisade/internal/lab"
)

// The traffic that takes the paths TestSideDoors closes, and must keep
// getting through: each case is a subtest of TestSideDoors, on its lab.

// priorityTagged: an allowed datagram in a priority-tagged frame (802.1Q,
// VLAN ID 0) reaches the DNS server exactly as sent, one hop on (TTL or
// hop limit 63, checksums right), and nothing of it comes back to surrey
// as sent. A datapath reading the IP header at the untagged offset would
// see TTL 0x42 (the IPv4 id), length 2048 (the ethertype: hence the
// jumbo MTU on the gateway's side, see startSideLab) and, as destination,
// surrey's own address: it would send the frame back, mangled.
func (s *sideLab) priorityTagged(t *testing.T, a sideAddrs) {
	m := marker("priority-tagged datagram")
	ls := udpLayers(netip.AddrPortFrom(a.surrey, 40200), netip.AddrPortFrom(a.dns, 53), m)
	w := s.wires["surrey"]
	w.prio = true
	switch ip := ls[0].(type) {
	case *layers.IPv4:
		s.send(t, "surrey", w.frame(t, ls...))
		ip.TTL--
	case *layers.IPv6:
		ip.FlowLabel = 0x12345
		s.send(t, "surrey", w.frame(t, ls...))
		ip.HopLimit--
	}
	want := serialise(t, ls...)
	datagram := func(f []byte) bool { _, proto := ipOf(f); return proto == layers.IPProtocolUDP && bytes.Contains(f, m) }
	if err := s.caps["svcB"].Await("priority-tagged datagram", datagram, 3*time.Second); err != nil {
		t.Error(err)
	}
	for _, f := range s.caps["svcB"].Frames() {
		if datagram(f) && (len(f) < 14+len(want) || !bytes.Equal(f[14:14+len(want)], want)) {
			t.Errorf("the priority-tagged datagram reached svcB changed:\n got % x\nwant % x", f[14:], want)
		}
	}
	for _, f := range s.caps["surrey"].Frames() {
		if src, _ := ipOf(f); bytes.Contains(f, m) && src == a.surrey {
			t.Errorf("the priority-tagged datagram came back to surrey: % x", f)
		}
	}
}

// ipOf is the source address and protocol (IPv6: next header) of an
// untagged IP frame. Both the datagram and an ICMP error quoting it carry
// its payload; they differ here.
func ipOf(f []byte) (netip.Addr, layers.IPProtocol) {
	if len(f) < 14+40 {
		return netip.Addr{}, 0
	}
	switch binary.BigEndian.Uint16(f[12:]) {
	case uint16(layers.EthernetTypeIPv4):
		return netip.AddrFrom4([4]byte(f[26:30])), layers.IPProtocol(f[23])
	case uint16(layers.EthernetTypeIPv6):
		return netip.AddrFrom16([16]byte(f[22:38])), layers.IPProtocol(f[20])
	}
	return netip.Addr{}, 0
}

// pathMTUError: a router in the service network tells surrey that its
// datagram to the DNS server was too big for the next hop.
func (s *sideLab) pathMTUError(t *testing.T, a sideAddrs) {
	dns := netip.AddrPortFrom(a.dns, 53)
	_, local := s.flowFrom(t, "surrey", "udp", a.surrey, dns)
	typ, code, mtu := uint8(layers.ICMPv4TypeDestinationUnreachable), uint8(layers.ICMPv4CodeFragmentationNeeded), uint32(1400)
	if a.surrey.Is6() {
		typ, code, mtu = layers.ICMPv6TypePacketTooBig, 0, 1280
	}
	m := marker("path MTU error for surrey's dns flow")
	s.send(t, "svcB", s.wires["svcB"].icmpError(t, a.router, a.surrey, typ, code, mtu, quoteUDP(t, local, dns, m)))
	if err := s.caps["surrey"].Await("error from the router", lab.Carrying(m), 3*time.Second); err != nil {
		t.Error(err)
	}
}

// neighbourDiscovery: with both sides' neighbour tables flushed, surrey's
// solicitations to the gateway's link-local and global addresses are
// answered, allowed traffic flows both ways, and each side has the other
// as a resolved neighbour in both families.
func (s *sideLab) neighbourDiscovery(t *testing.T) {
	surrey := s.host("surrey")
	flushNeighbours(t, surrey.NS, surrey.If)
	flushNeighbours(t, s.gw.GW, surrey.GWIf)
	for _, target := range []netip.Addr{s.gatewayLinkLocal(t, surrey.GWIf), side6.gateway} {
		s.send(t, "surrey", s.wires["surrey"].solicit(t, side6.surrey, target, target, 255, nil))
		if err := s.caps["surrey"].Await("advertisement of "+target.String()+" from the gateway", advertises(target), 2*time.Second); err != nil {
			t.Error(err)
		}
	}
	for _, a := range []sideAddrs{side4, side6} {
		if err := surrey.NS.PingFrom(a.surrey.String(), a.svcA.String(), 3*time.Second); err != nil {
			t.Error(err)
		}
	}
	wantNeighbours(t, surrey.NS, surrey.If, side4.gateway, side6.gateway)
	wantNeighbours(t, s.gw.GW, surrey.GWIf, side4.surrey, side6.surrey)
}

// advertises matches a neighbour advertisement for target.
func advertises(target netip.Addr) func([]byte) bool {
	return func(f []byte) bool {
		const icmp = 14 + 40
		return len(f) >= icmp+24 && binary.BigEndian.Uint16(f[12:]) == uint16(layers.EthernetTypeIPv6) &&
			f[14+6] == byte(layers.IPProtocolICMPv6) && f[icmp] == layers.ICMPv6TypeNeighborAdvertisement &&
			netip.AddrFrom16([16]byte(f[icmp+8:icmp+24])) == target
	}
}

func flushNeighbours(t *testing.T, ns *lab.NS, ifname string) {
	t.Helper()
	if _, err := ns.Exec(context.Background(), "ip", "neigh", "flush", "dev", ifname); err != nil {
		t.Fatal(err)
	}
}

// wantNeighbours checks that ifname in ns has each address as a neighbour
// with a link-layer address, neither failed nor still being resolved.
func wantNeighbours(t *testing.T, ns *lab.NS, ifname string, addrs ...netip.Addr) {
	t.Helper()
	out, err := ns.Exec(context.Background(), "ip", "neigh", "show", "dev", ifname)
	if err != nil {
		t.Fatal(err)
	}
next:
	for _, a := range addrs {
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, a.String()+" ") && strings.Contains(line, " lladdr ") &&
				!strings.Contains(line, "FAILED") && !strings.Contains(line, "INCOMPLETE") {
				continue next
			}
		}
		t.Errorf("%s in %s: %s is not a resolved neighbour:\n%s", ifname, ns.Name, a, out)
	}
}

// fragmentedDatagrams: a 3000-byte datagram to the DNS server and a
// 3000-byte echo to svcA, in both families, cross in fragments both ways
// and come back whole, with no fragment dropped on the way.
func (s *sideLab) fragmentedDatagrams(t *testing.T) {
	surrey := s.host("surrey")
	data := bytes.Repeat([]byte("palisade fragments "), 3000/19+1)[:3000]
	before := s.status(t)
	for _, a := range []sideAddrs{side4, side6} {
		c := dialIn(t, surrey.NS, "udp", a.surrey.String(), netip.AddrPortFrom(a.dns, 53).String())
		if err := echoWhole(c, data); err != nil {
			t.Errorf("3000-byte datagram %s -> %s: %v", a.surrey, a.dns, err)
		}
		if err := surrey.NS.PingData(a.surrey.String(), a.svcA.String(), data, 3*time.Second); err != nil {
			t.Error(err)
		}
	}
	s.wantDrops(t, before, "fragment", 0)
}

// echoWhole sends data on c and waits for all of it to come back in one
// datagram, trying up to 3 times.
func echoWhole(c net.Conn, data []byte) error {
	buf := make([]byte, len(data)+1)
	var err error
	for range 3 {
		c.SetDeadline(time.Now().Add(time.Second))
		var n int
		if _, err = c.Write(data); err == nil {
			n, err = c.Read(buf)
		}
		if err == nil && !bytes.Equal(buf[:n], data) {
			err = fmt.Errorf("%d bytes came back, not the %d sent", n, len(data))
		}
		if err == nil {
			return nil
		}
	}
	return err
}
