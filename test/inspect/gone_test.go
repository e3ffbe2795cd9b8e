package inspect_test

import (
	"testing"
	"time"
)

// With no agent, each rule's declared failure mode holds: surrey-cc's
// cloud rule (fail-closed) gets nothing, mole-valley-dc's (fail-open)
// passes uninspected. First after a crash (SIGKILL: the queue rules stay,
// nobody reads them), then after a clean stop (SIGTERM: the queue rules
// give way to a drop rule for fail-closed flows).
func testAgentGone(t *testing.T, il *inspectLab) {
	check := func(phase string) {
		if err := il.tlsExchange("surrey", "198.18.1.10", cloud4, "files.cloud.psn.example", 2, 0); !refused(err) {
			t.Errorf("%s: fail-closed rule with no agent: %v, want nothing back", phase, err)
		}
		if err := il.tlsExchange("surrey", "198.18.2.10", cloud4, "files.cloud.psn.example", 2, 0); err != nil {
			t.Errorf("%s: fail-open rule with no agent: %v, want it to pass", phase, err)
		}
	}
	if err := il.agent.Kill(); err != nil {
		t.Fatal(err)
	}
	check("after SIGKILL")
	if err := il.agent.Start(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := il.tlsExchange("surrey", "198.18.1.10", cloud4, "files.cloud.psn.example", 2, 0); err != nil {
		t.Errorf("restarted agent: allowed SNI: %v", err)
	}
	if err := il.tlsExchange("surrey", "198.18.2.10", cloud4, "evil.example", 1, 0); !refused(err) {
		t.Errorf("restarted agent: fail-open rule still inspects when it can: %v", err)
	}
	if err := il.agent.Stop(); err != nil {
		t.Fatal(err)
	}
	check("after SIGTERM")
}
