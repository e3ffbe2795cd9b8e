package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// The lab TestSideDoors runs in, and how a case sends frames from a host's
// link and proves what did or did not arrive.

// sideAddrs are the standard lab's addresses the cases use, one family.
type sideAddrs struct {
	surrey, police, svcA, dns netip.Addr
	router                    netip.Addr // on svcB's link: the service network's router
	gateway                   netip.Addr // the gateway's own address on surrey's link
}

var (
	side4 = sideAddrs{addr("198.18.1.10"), addr("198.18.3.10"), addr("198.19.10.10"), addr("198.19.20.53"),
		addr("198.19.20.254"), addr("198.18.1.1")}
	side6 = sideAddrs{addr("2001:db8:1::10"), addr("2001:db8:3::10"), addr("2001:db8:10::10"), addr("2001:db8:20::53"),
		addr("2001:db8:20::fe"), addr("2001:db8:1::1")}
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// sideLab is the standard lab with the agent, each host's Ethernet
// addressing towards the gateway, and a capture on each host's link.
type sideLab struct {
	*gatewayLab
	wires map[string]wire
	caps  map[string]*lab.Capture
}

// sideHosts are the hosts frames are sent from and captured on; police's
// link also carries the nhs and elmbridge VLANs.
var sideHosts = []string{"surrey", "police", "svcA", "svcB"}

func startSideLab(t *testing.T) *sideLab {
	t.Helper()
	s := &sideLab{gatewayLab: startLab(t, datapath.Native, true), wires: map[string]wire{}, caps: map[string]*lab.Capture{}}
	// Jumbo frames on the gateway's side of surrey's link: a frame's length
	// no longer stops a route lookup made at the wrong offset from
	// succeeding (see priorityTagged). Surrey itself stays at 1500.
	if _, err := s.gw.GW.Exec(context.Background(), "ip", "link", "set", s.host("surrey").GWIf, "mtu", "9000"); err != nil {
		t.Fatal(err)
	}
	svcB := s.host("svcB")
	for _, cidr := range []string{side4.router.String() + "/24", side6.router.String() + "/64"} {
		if err := svcB.NS.Addr(svcB.If, cidr); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range sideHosts {
		h := s.host(name)
		src, err := h.NS.MAC(h.If)
		dst, err2 := s.gw.GW.MAC(h.GWIf)
		if err := errors.Join(err, err2); err != nil {
			t.Fatal(err)
		}
		s.wires[name] = wire{src: src, dst: dst}
		c, err := h.NS.Capture(h.If)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		s.caps[name] = c
	}
	// The gateway learns every neighbour before the first case.
	s.settle(t, side4)
	s.settle(t, side6)
	return s
}

func (s *sideLab) host(name string) *lab.Host {
	if h := s.gw.Orgs[name]; h != nil {
		return h
	}
	return s.gw.Services[name]
}

// send puts frames on the wire of host's link.
func (s *sideLab) send(t *testing.T, from string, frames ...[]byte) {
	t.Helper()
	h := s.host(from)
	for _, f := range frames {
		if err := h.NS.SendFrame(h.If, f); err != nil {
			t.Fatal(err)
		}
	}
}

// settle sends allowed traffic after the frames under test and waits until
// each host has received its part: surrey's echo request and DNS query
// reach svcA and svcB and their answers come back to surrey, police's echo
// comes back to police. A frame the gateway let through earlier, forwarded
// in XDP or queued in its stack behind a neighbour lookup, is there by then.
func (s *sideLab) settle(t *testing.T, a sideAddrs) {
	t.Helper()
	ping, dns, police := marker("settle surrey echo"), marker("settle surrey dns"), marker("settle police echo")
	s.send(t, "surrey", s.wires["surrey"].echo(t, a.surrey, a.svcA, ping),
		s.wires["surrey"].udp(t, netip.AddrPortFrom(a.surrey, 40053), netip.AddrPortFrom(a.dns, 53), dns))
	s.send(t, "police", s.wires["police"].echo(t, a.police, a.svcA, police))
	for host, ms := range map[string][][]byte{"svcA": {ping, police}, "svcB": {dns}, "surrey": {ping, dns}, "police": {police}} {
		for _, m := range ms {
			if err := s.caps[host].Await(fmt.Sprintf("%q", m), lab.Carrying(m), 3*time.Second); err != nil {
				t.Fatalf("allowed traffic behind the frames under test: %v", err)
			}
		}
	}
	time.Sleep(100 * time.Millisecond)
}

// attempt is a frame under test and the marker in it.
type attempt struct{ frame, marker []byte }

// refused sends attempts from host's link, settles, and checks that no other
// host received a frame carrying any attempt's marker and that the gateway
// counted exactly those attempts under reason.
func (s *sideLab) refused(t *testing.T, from, reason string, a sideAddrs, attempts ...attempt) {
	t.Helper()
	before := s.status(t)
	for _, p := range attempts {
		s.send(t, from, p.frame)
	}
	s.settle(t, a)
	for _, host := range sideHosts {
		for _, p := range attempts {
			if n := s.caps[host].Count(lab.Carrying(p.marker)); host != from && n > 0 {
				t.Errorf("%q sent from %s's link reached %s (%d frames)", p.marker, from, host, n)
			}
		}
	}
	s.wantDrops(t, before, reason, len(attempts))
}

// wantDrops checks that the drops counted under reason rose by want since
// before, and shows every reason that rose when it did not.
func (s *sideLab) wantDrops(t *testing.T, before map[string]any, reason string, want int) {
	t.Helper()
	after := s.status(t)
	if got := counter(after, "drops", reason) - max(counter(before, "drops", reason), 0); got != float64(want) {
		rose := map[string]float64{}
		drops, _ := after["drops"].(map[string]any)
		for r := range drops {
			if d := counter(after, "drops", r) - max(counter(before, "drops", r), 0); d != 0 {
				rose[r] = d
			}
		}
		t.Errorf("drops %q rose by %v, want %d; all that rose: %v", reason, got, want, rose)
	}
}

// flowFrom opens a connection from host's src to dst and echoes once on
// it, so the gateway holds its flow, with its replies' ingress recorded.
func (s *sideLab) flowFrom(t *testing.T, host, network string, src netip.Addr, dst netip.AddrPort) (net.Conn, netip.AddrPort) {
	t.Helper()
	c := dialIn(t, s.host(host).NS, network, src.String(), dst.String())
	var err error
	for range 3 { // a datagram may be lost while the gateway resolves a neighbour
		if err = echo(c, time.Second); err == nil {
			return c, netip.MustParseAddrPort(c.LocalAddr().String())
		}
	}
	t.Fatalf("%s %s -> %s: %v", network, src, dst, err)
	return nil, netip.AddrPort{}
}

func (s *sideLab) gatewayLinkLocal(t *testing.T, ifname string) netip.Addr {
	t.Helper()
	var ll netip.Addr
	err := s.gw.GW.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		as, err := ifi.Addrs()
		for _, a := range as {
			if p, perr := netip.ParsePrefix(a.String()); perr == nil && p.Addr().IsLinkLocalUnicast() {
				ll = p.Addr()
			}
		}
		return err
	})
	if err != nil || !ll.IsValid() {
		t.Fatalf("link-local address of the gateway's %s: %v", ifname, err)
	}
	return ll
}
