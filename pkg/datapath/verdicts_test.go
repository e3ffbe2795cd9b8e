package datapath

import (
	"testing"

	"github.com/palisade-psn/palisade/internal/packets"
)

// The inspector finds a flow with the key it builds in Go, and the verdict
// it writes back is what XDP then applies to the rest of the flow.
func TestInspectedFlowVerdictWriteBack(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	runCases(t, h, []verdictCase{
		{"syn to the inspected rule", "org0", tcp(alpha4, partner4, 50001, 8443, packets.SYN), xdpPass, ""},
		{"second inspected flow", "org0", tcp(alpha4, partner4, 50002, 8443, packets.SYN), xdpPass, ""},
	})
	refused, _ := FlowKeyOf(alpha4, partner4, 50001, 8443, 6)
	fromReply, srcLo := FlowKeyOf(partner4, alpha4, 8443, 50001, 6)
	if refused != fromReply {
		t.Fatalf("key from the reply direction differs: %+v vs %+v", refused, fromReply)
	}
	f, err := h.dp.LookupFlow(refused)
	if err != nil {
		t.Fatal(err)
	}
	if f.Verdict != BoundaryPalVerdictPAL_VERDICT_INSPECT || f.FailOpen || f.OrigLo == srcLo {
		t.Errorf("flow = %+v, want an inspected, fail-closed flow started by alpha", f)
	}
	if name := h.dp.RuleName(f.RuleSlot); name != "alpha/partner" {
		t.Errorf("rule of the flow = %q, want alpha/partner", name)
	}
	allowed, _ := FlowKeyOf(alpha4, partner4, 50002, 8443, 6)
	if err := h.dp.SetFlowVerdict(refused, false); err != nil {
		t.Fatal(err)
	}
	if err := h.dp.SetFlowVerdict(allowed, true); err != nil {
		t.Fatal(err)
	}
	runCases(t, h, []verdictCase{
		{"refused flow drops in xdp", "org0", tcp(alpha4, partner4, 50001, 8443, packets.ACK), xdpDrop, "flow_denied"},
		{"allowed flow passes without a mark", "org0", tcp(alpha4, partner4, 50002, 8443, packets.ACK), xdpPass, ""},
	})
	missing, _ := FlowKeyOf(alpha4, partner4, 50003, 8443, 6)
	if err := h.dp.SetFlowVerdict(missing, true); err != ErrNoFlow {
		t.Errorf("verdict for a flow that does not exist: %v, want ErrNoFlow", err)
	}
}
