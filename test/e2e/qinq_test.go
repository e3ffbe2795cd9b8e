package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/palisade-psn/palisade/internal/agenttest"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// qinqRules put two QinQ organisations on the standard lab's police link
// (org1): water with outer tag 400 and inner tag 10, rail with 400 then
// 11, beside surrey-police untagged there.
var qinqRules = map[string]string{
	"services.yaml": `services:
  web:
    to: [198.19.10.0/24, 2001:db8:10::/48]
    ports: ["443/tcp"]
  patch:
    to: [198.19.20.10/32]
    ports: ["80/tcp"]
remediation: [patch]
`,
	"organisations/surrey-police.yaml": `organisation: surrey-police
name: Surrey Police
ingress: [{interface: org1}]
prefixes: [198.18.3.0/24, 2001:db8:3::/48]
allow: [{service: web}]
`,
	"organisations/water.yaml": `organisation: water
name: Surrey Water
ingress:
  - interface: org1
    vlan: 400
    inner_vlan: 10
prefixes: [198.18.6.0/24, 2001:db8:6::/48]
allow: [{service: web}]
`,
	"organisations/rail.yaml": `organisation: rail
name: Surrey Rail
ingress:
  - {interface: org1, vlan: 400, inner_vlan: 11}
prefixes: [198.18.7.0/24, 2001:db8:7::/48]
allow: [{service: web}]
`,
}

// TestQinQEndToEnd sends double-tagged frames from a host on the police
// link (raw frames: this kernel has no VLAN devices) through the agent's
// XDP program, and reads back what `palisade status` counts: the first
// packet of an allowed flow on water's two tags is water's, allowed;
// water's source on another inner tag, another outer tag, either tag
// alone or untagged is refused, by the reason the ingress those tags name
// gives; the flow's packets on another inner tag are refused as from
// another ingress; and both directions of the flow are handed to the
// kernel (whose VLAN devices would tag the replies), none forwarded in XDP.
func TestQinQEndToEnd(t *testing.T) {
	g := startGateway(t, agenttest.Config{Rules: writeRules(t, qinqRules), Mode: datapath.Native, Forwarding: true})
	// The gateway routes the QinQ organisations on the parent link, as the
	// lab does its VLANs: the reverse-path check asks these routes.
	for _, r := range []string{"198.18.6.0/24", "198.18.7.0/24", "2001:db8:6::/48", "2001:db8:7::/48"} {
		if out, err := g.gw.GW.Exec(context.Background(), "ip", "route", "replace", r, "dev", "org1"); err != nil {
			t.Fatalf("route %s: %v: %s", r, err, out)
		}
	}
	police, svcA := g.gw.Orgs["police"], g.gw.Services["svcA"]
	wPolice, wSvc := labWire(t, g, "police"), labWire(t, g, "svcA")
	for _, fam := range []struct {
		name       string
		water, web netip.Addr
	}{
		{"ipv4", addr("198.18.6.10"), addr("198.19.10.10")},
		{"ipv6", addr("2001:db8:6::10"), addr("2001:db8:10::10")},
	} {
		t.Run(fam.name, func(t *testing.T) {
			dst := netip.AddrPortFrom(fam.web, 443)
			syn := func(port uint16, tags ...uint16) []byte {
				return wPolice.tagged(t, tags, netip.AddrPortFrom(fam.water, port), dst, true, false)
			}
			before := g.status(t)
			sends := [][]byte{
				syn(48001, 400, 10), // water's own tags: allowed
				syn(48002, 400, 11), // rail's tags: water's source is spoofed there
				syn(48003, 401, 10),
				syn(48004, 400),
				syn(48005, 10),
				syn(48006, 10, 400),
				syn(48007), // untagged: surrey-police's ingress
				wPolice.tagged(t, []uint16{400, 11}, netip.AddrPortFrom(fam.water, 48001), dst, false, true), // the flow, on another inner tag
			}
			for _, f := range sends {
				if err := police.NS.SendFrame(police.If, f); err != nil {
					t.Fatal(err)
				}
			}
			// The flow's reply, from the service's side.
			reply := wSvc.tagged(t, nil, dst, netip.AddrPortFrom(fam.water, 48001), true, true)
			if err := svcA.NS.SendFrame(svcA.If, reply); err != nil {
				t.Fatal(err)
			}
			want := map[string]float64{
				"organisations/water/allow": 2, "organisations/rail/allow": 0, "organisations/surrey-police/allow": 0,
				"drops/unknown_ingress": 4, "drops/spoofed_source": 2, "drops/flow_ingress": 1,
				"forwarded/stack": 2, "forwarded/xdp": 0,
			}
			g.awaitCounts(t, before, want, 5*time.Second)
		})
	}
}

// labWire is the Ethernet addressing from a lab host to the gateway.
func labWire(t *testing.T, g *gatewayLab, host string) wire {
	t.Helper()
	h := g.gw.Orgs[host]
	if h == nil {
		h = g.gw.Services[host]
	}
	src, err := h.NS.MAC(h.If)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := g.gw.GW.MAC(h.GWIf)
	if err != nil {
		t.Fatal(err)
	}
	return wire{src: src, dst: dst}
}

// tagged is a TCP segment behind the given VLAN tags, outermost first:
// two make an 802.1ad frame (outer 0x88a8, inner 0x8100), one 802.1Q.
func (w wire) tagged(t *testing.T, tags []uint16, src, dst netip.AddrPort, syn, ack bool) []byte {
	t.Helper()
	ip := ipHeader(src.Addr(), dst.Addr(), layers.IPProtocolTCP)
	seg := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
		Seq: 1000, Ack: 1, SYN: syn, ACK: ack, Window: 1024}
	seg.SetNetworkLayerForChecksum(ip)
	next := layers.EthernetTypeIPv4
	if src.Addr().Is6() {
		next = layers.EthernetTypeIPv6
	}
	eth := &layers.Ethernet{SrcMAC: w.src, DstMAC: w.dst, EthernetType: next}
	ls := []gopacket.SerializableLayer{eth}
	switch len(tags) {
	case 1:
		eth.EthernetType = layers.EthernetTypeDot1Q
	case 2:
		eth.EthernetType = layers.EthernetTypeQinQ
	}
	for i, id := range tags {
		tag := &layers.Dot1Q{VLANIdentifier: id, Type: next}
		if i+1 < len(tags) {
			tag.Type = layers.EthernetTypeDot1Q
		}
		ls = append(ls, tag)
	}
	return serialise(t, append(ls, ip, seg)...)
}

// awaitCounts waits until each status counter named in want ("section/
// name[/verdict]") has risen from before by exactly its value, or fails
// after timeout showing what each one did.
func (g *gatewayLab) awaitCounts(t *testing.T, before map[string]any, want map[string]float64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		after := g.status(t)
		var off []string
		for path, n := range want {
			if got := statusCount(after, path) - statusCount(before, path); got != n {
				off = append(off, fmt.Sprintf("%s rose by %v, want %v", path, got, n))
			}
		}
		if len(off) == 0 {
			// Nothing more may arrive: look once more after a pause.
			time.Sleep(200 * time.Millisecond)
			if again := g.status(t); statusCount(again, "drops/unknown_ingress") != statusCount(after, "drops/unknown_ingress") ||
				statusCount(again, "forwarded/xdp") != statusCount(after, "forwarded/xdp") {
				t.Errorf("counters still rising after the expected counts were reached")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, off)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// statusCount is counter for a "/"-separated path, 0 when absent.
func statusCount(st map[string]any, path string) float64 {
	return max(counter(st, strings.Split(path, "/")...), 0)
}
