package datapath

import (
	"testing"

	"github.com/palisade-psn/palisade/internal/packets"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// TestSuspendAndCutFlows suspends an organisation with one array write,
// then cuts its flows the suspended policy no longer allows: new packets
// and established flows alike stop, remediation flows live on.
func TestSuspendAndCutFlows(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	runCases(t, h, []verdictCase{
		{"web flow opens", "org0", tcp(alpha4, web4, 46001, 443, packets.SYN), xdpPass, ""},
		{"pnc flow opens", "org0", udp(alpha4, web4, 46002, 5005), xdpPass, ""},
		{"patch flow opens", "org0", tcp(alpha4, patch4, 46003, 80, packets.SYN), xdpPass, ""},
	})
	alpha := orgIndex(t, h.policy, "alpha")
	if err := h.dp.SetOrgSuspended(alpha, true); err != nil {
		t.Fatal(err)
	}
	runCases(t, h, []verdictCase{
		{"new flow of the suspended org", "org0", tcp(alpha4, web4, 46004, 443, packets.SYN), xdpDrop, "suspended"},
		{"established flow lives until cut", "org0", tcp(alpha4, web4, 46001, 443, packets.ACK), xdpPass, ""},
	})
	h.policy.Orgs[alpha].Suspended = true
	names := map[int]string{}
	for n, i := range h.ifindex {
		names[i] = n
	}
	var seen []FlowOrigin
	kept, cut, err := h.dp.CutFlows(func(o FlowOrigin) bool {
		seen = append(seen, o)
		q := policy.Query{Interface: names[o.Ifindex], VLAN: o.VLAN, Src: o.Src, Dst: o.Dst, Proto: o.Proto, Port: o.DstPort}
		return h.policy.Decide(q).Verdict != policy.Drop
	})
	if err != nil || kept != 1 || cut != 2 {
		t.Fatalf("kept %d cut %d err %v; flows seen %+v", kept, cut, err, seen)
	}
	for _, o := range seen {
		if o.Src != alpha4 || names[o.Ifindex] != "org0" || o.SrcPort < 46001 || o.SrcPort > 46003 {
			t.Errorf("flow origin read back wrong: %+v", o)
		}
	}
	runCases(t, h, []verdictCase{
		{"cut flow's next packet finds no flow", "org0", tcp(alpha4, web4, 46001, 443, packets.ACK), xdpDrop, "no_flow"},
		{"cut flow's reply has no flow", "svc0", udp(web4, alpha4, 5005, 46002), xdpDrop, "no_flow"},
		{"remediation flow kept", "org0", tcp(alpha4, patch4, 46003, 80, packets.ACK), xdpPass, ""},
	})
	if err := h.dp.SetOrgSuspended(alpha, false); err != nil {
		t.Fatal(err)
	}
	runCases(t, h, []verdictCase{{"restored", "org0", tcp(alpha4, web4, 46005, 443, packets.SYN), xdpPass, ""}})
}

func orgIndex(t *testing.T, c *policy.Compiled, id string) int {
	t.Helper()
	for i, o := range c.Orgs {
		if o.ID == id {
			return i
		}
	}
	t.Fatalf("no organisation %s", id)
	return -1
}
