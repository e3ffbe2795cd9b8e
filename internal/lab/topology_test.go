package lab

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

const exchangeTimeout = 2 * time.Second

// TestStandardGatewayForwards builds the standard lab without XDP and checks
// that plain kernel forwarding carries TCP, UDP and ICMP over both IP
// families from every org source prefix, VLANs included, to the services.
func TestStandardGatewayForwards(t *testing.T) {
	l := NewT(t)
	start := time.Now()
	g, err := NewGateway(l, StandardSpec())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("standard lab built in %v", time.Since(start))
	for _, name := range []string{"svcA", "svcB"} {
		serveEcho(t, g.Services[name].NS)
	}
	targets := append(g.Services["svcA"].IPs(), g.Services["svcB"].IPs()...)
	for _, org := range []string{"surrey", "police", "nhs", "elmbridge"} {
		h := g.Orgs[org]
		for _, src := range h.IPs() {
			for _, dst := range targets {
				if isV4(src) != isV4(dst) {
					continue
				}
				checkExchanges(t, h.NS, src, dst)
			}
		}
	}
}

func serveEcho(t *testing.T, n *NS) {
	t.Helper()
	stopTCP, err := n.ServeTCP("[::]:443")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopTCP)
	stopUDP, err := n.ServeUDP("[::]:53")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopUDP)
}

func checkExchanges(t *testing.T, n *NS, src, dst string) {
	t.Helper()
	tcp, udp := net.JoinHostPort(dst, "443"), net.JoinHostPort(dst, "53")
	if err := n.TCPExchangeFrom(src, tcp, exchangeTimeout); err != nil {
		t.Error(err)
	}
	if err := n.UDPExchangeFrom(src, udp, exchangeTimeout); err != nil {
		t.Error(err)
	}
	if err := n.PingFrom(src, dst, exchangeTimeout); err != nil {
		t.Error(err)
	}
}

func isV4(ip string) bool { return netip.MustParseAddr(ip).Is4() }

// TestVLANTagsOnTheWire checks that traffic sent as a VLAN organisation's
// prefix crosses the gateway link tagged with its VLAN id both ways, and
// plain police traffic untagged.
func TestVLANTagsOnTheWire(t *testing.T) {
	l := NewT(t)
	g, err := NewGateway(l, StandardSpec())
	if err != nil {
		t.Fatal(err)
	}
	serveEcho(t, g.Services["svcA"].NS)
	for _, org := range []string{"nhs", "elmbridge", "police"} {
		h := g.Orgs[org]
		for _, src := range h.IPs() {
			dst := "198.19.10.10"
			if !isV4(src) {
				dst = "2001:db8:10::10"
			}
			// "vlan and ..." for frames whose tag is still inline (egress).
			f := "host " + src + " and port 443"
			stop := startCapture(t, g.GW, "org1", f+" or (vlan and "+f+")")
			if err := h.NS.TCPExchangeFrom(src, net.JoinHostPort(dst, "443"), exchangeTimeout); err != nil {
				t.Fatal(err)
			}
			checkTagged(t, stop("> "+src+"."), src, dst, h.VLAN)
		}
	}
}

// TestFailuresAreReported checks that the helpers tell a missing server,
// an unreachable peer and a spoofed source apart from success.
func TestFailuresAreReported(t *testing.T) {
	l := NewT(t)
	g, err := NewGateway(l, StandardSpec())
	if err != nil {
		t.Fatal(err)
	}
	surrey := g.Orgs["surrey"].NS
	// Nothing listens on svcA: TCP is refused, UDP gets port unreachable.
	if err := surrey.TCPExchange("198.19.10.10:443", exchangeTimeout); !errors.Is(err, ErrConnect) {
		t.Errorf("tcp to closed port: got %v, want ErrConnect", err)
	}
	if err := surrey.UDPExchange("198.19.10.10:53", 600*time.Millisecond); !errors.Is(err, ErrNoEcho) {
		t.Errorf("udp to closed port: got %v, want ErrNoEcho", err)
	}
	// An address on a routed but empty network never answers.
	if err := surrey.Ping("198.19.10.99", 300*time.Millisecond); !errors.Is(err, ErrNoEcho) {
		t.Errorf("ping to absent host: got %v, want ErrNoEcho", err)
	}
	// A spoofed source leaves the host; the reply goes nowhere.
	if err := surrey.PingFrom("198.18.9.9", "198.19.10.10", 300*time.Millisecond); !errors.Is(err, ErrNoEcho) {
		t.Errorf("ping from spoofed source: got %v, want ErrNoEcho", err)
	}
	if err := surrey.SendUDPFrom("[2001:db8:9::9]:5353", "[2001:db8:10::10]:53", []byte("x")); err != nil {
		t.Errorf("send from spoofed v6 source: %v", err)
	}
}

// TestVLANOverride checks that SendUDPFromVLAN puts a frame on the VLAN
// asked for, whatever its source address says.
func TestVLANOverride(t *testing.T) {
	l := NewT(t)
	g, err := NewGateway(l, StandardSpec())
	if err != nil {
		t.Fatal(err)
	}
	police := g.Orgs["police"].NS
	for _, tc := range []struct {
		vlan int
		src  string
	}{{0, "198.18.4.10"}, {200, "198.18.4.10"}, {300, "198.18.3.10"}, {300, "2001:db8:5::10"}} {
		dst := "198.19.10.10"
		if !isV4(tc.src) {
			dst = "2001:db8:10::10"
		}
		f := "src " + tc.src + " and udp port 9"
		stop := startCapture(t, g.GW, "org1", f+" or (vlan and "+f+")")
		if err := police.SendUDPFromVLAN(tc.vlan, tc.src, net.JoinHostPort(dst, "9"), []byte("x")); err != nil {
			t.Fatal(err)
		}
		dump := stop(" > " + dst + ".9")
		want := "vlan " + strconv.Itoa(tc.vlan) + ","
		if dump == "" || (tc.vlan == 0) == strings.Contains(dump, "vlan ") || (tc.vlan != 0 && !strings.Contains(dump, want)) {
			t.Errorf("%s on vlan %d: got %q", tc.src, tc.vlan, dump)
		}
	}
}
