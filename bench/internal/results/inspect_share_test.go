package results

import (
	"strings"
	"testing"
)

// TestShares: a case whose sums are its flows' checks and renders; one
// whose share or sums were not derived from its flows does not check.
func TestShares(t *testing.T) {
	c := InspectionShare{Case: "split3", Segments: 3, HelloBytes: 1515, MSS: 1448, FlowBytes: 1 << 20, Flows: []Flow{
		{Received: 1 << 20, Packets: 790, Queued: 6, Held: 2, KernelQueued: 6, DecisionSeconds: 0.005},
		{Received: 1 << 20, Packets: 810, Queued: 6, Held: 2, KernelQueued: 6, DecisionSeconds: 0.004},
	}}
	c.Sum()
	if c.Packets != 1600 || c.Queued != 12 || c.Held != 4 || !near(c.Share, 12.0/1600) {
		t.Fatalf("sums: %+v", c)
	}
	if err := checkShares([]InspectionShare{c}); err != nil {
		t.Fatalf("a consistent case does not check: %v", err)
	}
	var b strings.Builder
	shareRows(&b, []InspectionShare{c})
	if !strings.Contains(b.String(), "| split3: 1515 B in 3 writes | 2 × 1024 | 1600 | 12 (12) | 0.75% | 4 | 6–6 / 2–2 | 0 | 4.5 ms |") {
		t.Errorf("row:\n%s", b.String())
	}
	bad := c
	bad.Share *= 2
	if checkShares([]InspectionShare{bad}) == nil {
		t.Error("a share that is not queued / packets checks")
	}
	bad = c
	bad.Flows = append([]Flow{}, c.Flows...)
	bad.Flows[0].Held = 7 // more held than reached userspace, and the sums no longer add up
	if checkShares([]InspectionShare{bad}) == nil {
		t.Error("a flow with more held than queued checks")
	}
	if checkShares(nil) != nil {
		t.Error("results from before issue 18 (no cases) do not check")
	}
}
