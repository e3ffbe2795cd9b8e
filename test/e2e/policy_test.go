package e2e

import (
	"testing"

	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/internal/scenario"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// runChecks tries every check at once and reports each that disagrees.
func runChecks(t *testing.T, g *lab.Gateway, checks []scenario.Check) {
	t.Helper()
	for _, r := range scenario.RunAll(g, checks) {
		switch {
		case r.Allow && r.Err != nil:
			t.Errorf("%v: should pass, failed: %v", r.Check, r.Err)
		case !r.Allow && r.Err == nil:
			t.Errorf("%v: should be refused, got through", r.Check)
		}
	}
}

func TestPolicyNative(t *testing.T)  { testPolicy(t, datapath.Native, true) }
func TestPolicyGeneric(t *testing.T) { testPolicy(t, datapath.Generic, true) }

// TestPolicyStackForwarding: with XDP forwarding off, the same verdicts, and
// every allowed packet is handed to the kernel to forward.
func TestPolicyStackForwarding(t *testing.T) {
	st := testPolicy(t, datapath.Native, false)
	if n := counter(st, "forwarded", "xdp"); n != 0 {
		t.Errorf("%v packets forwarded in XDP with forwarding off", n)
	}
	if n := counter(st, "forwarded", "stack"); n <= 0 {
		t.Errorf("no allowed packet handed to the stack: %v", n)
	}
}

func testPolicy(t *testing.T, mode datapath.Mode, forward bool) map[string]any {
	g := startLab(t, mode, forward)
	runChecks(t, g.gw, scenario.Standard)
	st := g.status(t)
	for _, want := range []struct {
		path []string
		what string
	}{
		{[]string{"organisations", "surrey-cc", "allow"}, "surrey-cc allowed packets"},
		{[]string{"organisations", "elmbridge-bc", "drop"}, "elmbridge-bc dropped packets"},
		{[]string{"drops", "suspended"}, "drops of a suspended organisation"},
		{[]string{"drops", "no_rule"}, "drops for no rule"},
		{[]string{"drops", "spoofed_source"}, "drops of a spoofed source"},
		{[]string{"drops", "no_flow"}, "drops of unsolicited packets"},
	} {
		if n := counter(st, want.path...); n <= 0 {
			t.Errorf("%s: counter %v = %v, want > 0", want.what, want.path, n)
		}
	}
	if n := counter(st, "forwarded", "xdp"); forward && n <= 0 {
		t.Errorf("no allowed packet was forwarded in XDP")
	}
	return st
}
