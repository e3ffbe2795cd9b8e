package datapath

import (
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/packets"
)

func TestFlowReplies(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	cases := []verdictCase{
		{"syn opens the flow", "org0", tcp(alpha4, web4, 43001, 443, packets.SYN), xdpPass, ""},
		{"syn-ack from the service side", "svc0", tcp(web4, alpha4, 443, 43001, packets.SYN|packets.ACK), xdpPass, ""},
		{"ack from the organisation", "org0", tcp(alpha4, web4, 43001, 443, packets.ACK), xdpPass, ""},
		{"reply coming in where the flow started", "org0", tcp(web4, alpha4, 443, 43001, packets.ACK), xdpDrop, "spoofed_source"},
		{"originator packet from another ingress", "org1", tcp(alpha4, web4, 43001, 443, packets.ACK), xdpDrop, "flow_ingress"},
		{"reply spoofed from another organisation's ingress", "org1", tcp(web4, alpha4, 443, 43001, packets.ACK), xdpDrop, "spoofed_source"},
		{"same service, other port: unsolicited", "svc0", tcp(web4, alpha4, 443, 43002, packets.ACK), xdpDrop, "no_flow"},
		{"rst from the service", "svc0", tcp(web4, alpha4, 443, 43001, packets.RST), xdpPass, ""},
		{"new syn reuses a closed flow's ports", "org0", tcp(alpha4, web4, 43001, 443, packets.SYN), xdpPass, ""},
		{"udp request", "org0", udp(alpha4, web4, 43003, 5005), xdpPass, ""},
		{"udp reply", "svc0", udp(web4, alpha4, 5005, 43003), xdpPass, ""},
		{"udp reply to another port", "svc0", udp(web4, alpha4, 5005, 43004), xdpDrop, "no_flow"},
		{"echo request", "org0", echo(alpha4, web4, 99, false), xdpPass, ""},
		{"echo reply", "svc0", echo(web4, alpha4, 99, true), xdpPass, ""},
		{"echo reply, other identifier", "svc0", echo(web4, alpha4, 98, true), xdpDrop, "no_flow"},
		{"icmpv6 echo request", "org0", echo(alpha6, web6, 99, false), xdpPass, ""},
		{"icmpv6 echo reply", "svc0", echo(web6, alpha6, 99, true), xdpPass, ""},
		{"ipv6 syn", "org0", tcp(alpha6, web6, 43005, 443, packets.SYN), xdpPass, ""},
		{"ipv6 syn-ack", "svc0", tcp(web6, alpha6, 443, 43005, packets.SYN|packets.ACK), xdpPass, ""},
	}
	runCases(t, h, cases)
}

func TestFlowsIdleOut(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	to := DefaultTimeouts()
	to.ICMP, to.UDP = time.Second, time.Second
	if err := h.dp.Configure(Settings{Timeouts: to}); err != nil {
		t.Fatal(err)
	}
	runCases(t, h, []verdictCase{
		{"echo request", "org0", echo(alpha4, web4, 5, false), xdpPass, ""},
		{"udp request", "org0", udp(alpha4, web4, 44001, 5005), xdpPass, ""},
	})
	time.Sleep(2100 * time.Millisecond)
	runCases(t, h, []verdictCase{
		{"echo reply after the flow idled out", "svc0", echo(web4, alpha4, 5, true), xdpDrop, "no_flow"},
		{"udp reply after the flow idled out", "svc0", udp(web4, alpha4, 5005, 44001), xdpDrop, "no_flow"},
	})
}

func TestCounters(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	frames := [][]byte{
		packets.Build(tcp(alpha4, web4, 45001, 443, packets.SYN)),
		packets.Build(tcp(alpha4, web4, 45001, 443, packets.ACK)),
		packets.Build(tcp(alpha4, web4, 45002, 22, packets.SYN)),
	}
	var allowBytes uint64
	for i, f := range frames {
		h.run(t, "org0", f)
		if i < 2 {
			allowBytes += uint64(len(f))
		}
	}
	h.run(t, "svc0", packets.Build(tcp(web4, alpha4, 443, 45001, packets.ACK)))
	orgs, err := h.dp.Counters().OrgCounts()
	if err != nil {
		t.Fatal(err)
	}
	if got := orgs["alpha"]["allow"]; got.Packets != 3 {
		t.Errorf("alpha allow = %+v, want 3 packets (2 out, 1 reply)", got)
	}
	if got := orgs["alpha"]["drop"]; got.Packets != 1 || got.Bytes != uint64(len(frames[2])) {
		t.Errorf("alpha drop = %+v, want 1 packet of %d bytes", got, len(frames[2]))
	}
	rulesHit, err := h.dp.Counters().RuleCounts()
	if err != nil {
		t.Fatal(err)
	}
	if got := rulesHit["alpha/web"]; got.Packets != 3 || got.LastHitNs == 0 {
		t.Errorf("rule alpha/web = %+v, want 3 packets and a last-hit time", got)
	}
	if got := rulesHit["alpha/pnc"]; got.Packets != 0 {
		t.Errorf("rule alpha/pnc = %+v, want no hits", got)
	}
}
