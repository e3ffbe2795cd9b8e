package e2e

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket/layers"

	"github.com/palisade-psn/palisade/internal/lab"
)

// TestSideDoors sends, from an attacker's side of the standard lab, the
// frames issue 16 found crossing the boundary without a rule: neighbour
// discovery to global addresses, ICMP errors sent anywhere, later fragments
// from another organisation's link, packets on another organisation's flow,
// replies from the wrong side. Each is checked twice: a capture on every
// other host's link saw none of them (after allowed traffic sent behind
// them had arrived), and the gateway counted exactly those frames under
// the drop reason the order of decisions gives. The traffic that
// shares those paths and must keep working (a priority-tagged frame, path
// MTU errors, neighbour discovery with the gateway, fragmented datagrams)
// is in sidedoors_allowed_test.go.
func TestSideDoors(t *testing.T) {
	s := startSideLab(t)
	t.Run("NeighbourSolicitationToServiceGlobal", func(t *testing.T) { s.solicitThrough(t, side6.svcA) })
	t.Run("NeighbourSolicitationToOtherOrganisation", func(t *testing.T) { s.solicitThrough(t, side6.police) })
	t.Run("NeighbourSolicitationHopLimit64ToLinkLocal", s.solicitHopLimit)
	for _, c := range []struct {
		name string
		run  func(*testing.T, sideAddrs)
	}{
		{"ICMPErrorToOtherDestination", s.misdirectedError},
		{"ICMPErrorOversized", s.oversizedError},
		{"SpoofedLaterFragment", s.spoofedFragment},
		{"PriorityTagged", s.priorityTagged},
		{"PathMTUError", s.pathMTUError},
	} {
		t.Run(c.name+"V4", func(t *testing.T) { c.run(t, side4) })
		t.Run(c.name+"V6", func(t *testing.T) { c.run(t, side6) })
	}
	t.Run("FlowTakeoverUDP", s.takeoverUDP)
	t.Run("FlowTakeoverTCP", s.takeoverTCP)
	t.Run("ReplyFromOtherService", func(t *testing.T) { s.wrongSideReply(t, "svcA", "reverse_path") })
	t.Run("ReplyFromOtherOrganisation", func(t *testing.T) { s.wrongSideReply(t, "police", "spoofed_source") })
	t.Run("NeighbourDiscoveryWithGateway", s.neighbourDiscovery)
	t.Run("FragmentedDatagrams", s.fragmentedDatagrams)
}

func (s *sideLab) solicitThrough(t *testing.T, dst netip.Addr) {
	m := marker("solicitation to " + dst.String())
	s.refused(t, "surrey", "link_control", side6, attempt{s.wires["surrey"].solicit(t, side6.surrey, dst, dst, 255, m), m})
}

// solicitHopLimit: a solicitation that has crossed a router (hop limit
// below 255) is not from the gateway's link, whatever its destination.
func (s *sideLab) solicitHopLimit(t *testing.T) {
	ll := s.gatewayLinkLocal(t, "org0")
	m := marker("solicitation with hop limit 64")
	s.refused(t, "surrey", "link_control", side6, attempt{s.wires["surrey"].solicit(t, side6.surrey, ll, ll, 64, m), m})
}

// portUnreachable is "port unreachable" in a's family.
func portUnreachable(a sideAddrs) (typ, code uint8) {
	if a.surrey.Is4() {
		return layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort
	}
	return layers.ICMPv6TypeDestinationUnreachable, layers.ICMPv6CodePortUnreachable
}

// misdirectedError: surrey, with one allowed flow to the DNS service,
// sends errors quoting that flow's reply to others than the DNS server
// that sent it: a service and another organisation's host.
func (s *sideLab) misdirectedError(t *testing.T, a sideAddrs) {
	_, local := s.flowFrom(t, "surrey", "udp", a.surrey, netip.AddrPortFrom(a.dns, 53))
	typ, code := portUnreachable(a)
	var attempts []attempt
	for _, dst := range []netip.Addr{a.svcA, a.police} {
		m := marker("error about surrey's dns flow, to " + dst.String())
		q := quoteUDP(t, netip.AddrPortFrom(a.dns, 53), local, m)
		attempts = append(attempts, attempt{s.wires["surrey"].icmpError(t, a.surrey, dst, typ, code, 0, q), m})
	}
	s.refused(t, "surrey", "icmp_error_mismatch", a, attempts...)
}

// oversizedError: the same error, to the right address, at the largest
// size allowed (576 bytes in all for IPv4, 1280 for IPv6) arrives; one
// byte more does not.
func (s *sideLab) oversizedError(t *testing.T, a sideAddrs) {
	dns := netip.AddrPortFrom(a.dns, 53)
	_, local := s.flowFrom(t, "surrey", "udp", a.surrey, dns)
	typ, code := portUnreachable(a)
	limit, ipLen := 576, 20
	if a.surrey.Is6() {
		limit, ipLen = 1280, 40
	}
	sized := func(what string, total int) attempt {
		m := marker(what)
		payload := append(m, bytes.Repeat([]byte{'.'}, total-2*(ipLen+8)-len(m))...)
		return attempt{s.wires["surrey"].icmpError(t, a.surrey, a.dns, typ, code, 0, quoteUDP(t, dns, local, payload)), m}
	}
	fits := sized("error of the largest size", limit)
	s.send(t, "surrey", fits.frame)
	s.refused(t, "surrey", "icmp_error_size", a, sized("error one byte too long", limit+1))
	if n := s.caps["svcB"].Count(lab.Carrying(fits.marker)); n != 1 {
		t.Errorf("an error of %d bytes quoting svcB's reply reached svcB %d times, want once", limit, n)
	}
}

// spoofedFragment: while surrey's datagram is in flight (its first
// fragment through), police's link sends a later fragment as surrey, with
// the same id. Then surrey's own later fragment still gets through.
func (s *sideLab) spoofedFragment(t *testing.T, a sideAddrs) {
	src, dst := netip.AddrPortFrom(a.surrey, 40100), netip.AddrPortFrom(a.dns, 53)
	own := marker("surrey's own later fragment")
	dgram := udpDatagram(t, src, dst, append(bytes.Repeat([]byte{'.'}, 56), own...))
	id := uint32(time.Now().UnixNano()) & 0xffff
	udp := layers.IPProtocolUDP
	s.send(t, "surrey", s.wires["surrey"].fragment(t, a.surrey, a.dns, udp, id, 0, true, dgram[:64]))
	m := marker("police's fragment as surrey")
	s.refused(t, "police", "fragment", a, attempt{s.wires["police"].fragment(t, a.surrey, a.dns, udp, id, 64, false, m), m})
	s.send(t, "surrey", s.wires["surrey"].fragment(t, a.surrey, a.dns, udp, id, 64, false, dgram[64:]))
	if err := s.caps["svcB"].Await("later fragment of surrey's own", lab.Carrying(own), 2*time.Second); err != nil {
		t.Error(err)
	}
}

// takeoverUDP: police's link sends on surrey's DNS flow, as surrey.
func (s *sideLab) takeoverUDP(t *testing.T) {
	dns := netip.AddrPortFrom(side4.dns, 53)
	c, local := s.flowFrom(t, "surrey", "udp", side4.surrey, dns)
	m := marker("police's datagram on surrey's flow")
	s.refused(t, "police", "flow_ingress", side4, attempt{s.wires["police"].udp(t, local, dns, m), m})
	if err := echo(c, 2*time.Second); err != nil {
		t.Errorf("surrey's flow after the attempt: %v", err)
	}
}

// takeoverTCP: police's link sends a SYN and a data segment on surrey's
// benefits connection, as surrey.
func (s *sideLab) takeoverTCP(t *testing.T) {
	svc := netip.AddrPortFrom(side4.svcA, 443)
	c, local := s.flowFrom(t, "surrey", "tcp", side4.surrey, svc)
	syn, data := marker("police's SYN on surrey's connection"), marker("police's segment on surrey's connection")
	w := s.wires["police"]
	s.refused(t, "police", "flow_ingress", side4,
		attempt{w.tcp(t, local, svc, true, false, syn), syn}, attempt{w.tcp(t, local, svc, false, true, data), data})
	if err := echo(c, 2*time.Second); err != nil {
		t.Errorf("surrey's connection after the attempt: %v", err)
	}
}

// wrongSideReply: a reply to surrey's DNS flow, as the DNS server, from a
// link the flow's replies do not come in on.
func (s *sideLab) wrongSideReply(t *testing.T, from, reason string) {
	dns := netip.AddrPortFrom(side4.dns, 53)
	c, local := s.flowFrom(t, "surrey", "udp", side4.surrey, dns)
	m := marker("reply to surrey's flow from " + from)
	s.refused(t, from, reason, side4, attempt{s.wires[from].udp(t, dns, local, m), m})
	if err := echo(c, 2*time.Second); err != nil {
		t.Errorf("surrey's flow after the attempt: %v", err)
	}
}
