package agent

import (
	"testing"

	"github.com/palisade-psn/palisade/pkg/inspect"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

func TestInspectConfig(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, "rules: r\ninterfaces: [org0]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Inspect.Queue != inspect.DefaultQueues.First || c.Inspect.Queues != inspect.DefaultQueues.N {
		t.Errorf("inspect defaults = %+v", c.Inspect)
	}
	c, err = LoadConfig(writeConfig(t, "rules: r\ninterfaces: [org0]\ninspect: {queue: 100, queues: 4}\n"))
	if err != nil || c.Inspect.Queue != 100 || c.Inspect.Queues != 4 {
		t.Errorf("inspect = %+v, %v", c.Inspect, err)
	}
	if c, err := LoadConfig(writeConfig(t, "rules: r\ninterfaces: [org0]\ninspect: {org_flow_quota: 500}\n")); err != nil || c.Inspect.OrgFlowQuota != 500 {
		t.Errorf("org_flow_quota: %+v, %v", c.Inspect, err)
	}
	for _, bad := range []string{"-1", "16385"} {
		if _, err := LoadConfig(writeConfig(t, "rules: r\ninterfaces: [org0]\ninspect: {org_flow_quota: "+bad+"}\n")); err == nil {
			t.Errorf("org_flow_quota %s accepted", bad)
		}
	}
}

// The inspector finds a flow's allowed names by the rule's name in the
// example policy, and follows a reload.
func TestInspectRuleIndex(t *testing.T) {
	p, err := rules.Load("../../rules")
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{policy: policy.Compile(p)}
	in := a.inspectRule("surrey-cc/cloud-storage")
	if in == nil || len(in.TLSSNI) != 1 || in.TLSSNI[0] != "*.cloud.psn.example" || in.FailOpen {
		t.Fatalf("surrey-cc/cloud-storage = %+v", in)
	}
	if in := a.inspectRule("mole-valley-dc/cloud-storage"); in == nil || !in.FailOpen {
		t.Errorf("mole-valley-dc/cloud-storage = %+v, want fail-open", in)
	}
	if in := a.inspectRule("surrey-cc/dwp-benefits"); in != nil {
		t.Errorf("an uninspected rule has names: %+v", in)
	}
	if n := a.inspectedOrgs(); n != 3 {
		t.Errorf("organisations with inspected rules = %d, want 3 (surrey-cc, mole-valley-dc, surrey-police)", n)
	}
	if q := a.inspectOwn("surrey-cc"); q != 0 {
		t.Errorf("surrey-cc sets no inspector limit, own quota %d", q)
	}
	a.policy = &policy.Compiled{Orgs: []policy.Org{{ID: "surrey-cc", InspectedFlows: 300}}}
	if in := a.inspectRule("surrey-cc/cloud-storage"); in != nil {
		t.Errorf("after a reload without the rule: %+v", in)
	}
	if q := a.inspectOwn("surrey-cc"); q != 300 {
		t.Errorf("surrey-cc's limits.inspected_flows after the reload = %d, want 300", q)
	}
}
