package policy

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/palisade-psn/palisade/pkg/rules"
)

func TestPlan(t *testing.T) {
	oldP := orgWith(
		rules.Rule{ID: "web", To: []netip.Prefix{pfx("198.19.10.0/24")}, Ports: tcpPorts(443, 443)},
		rules.Rule{ID: "range", To: []netip.Prefix{pfx("198.19.11.0/24")}, Ports: tcpPorts(8000, 8080)},
	)
	newP := orgWith(
		rules.Rule{ID: "range", To: []netip.Prefix{pfx("198.19.11.0/24")}, Ports: tcpPorts(8000, 8040)},
		rules.Rule{ID: "dns", To: []netip.Prefix{pfx("198.19.20.53/32")}, Ports: []rules.PortRange{{Proto: rules.ProtoUDP, Lo: 53, Hi: 53}}},
	)
	newP.Orgs[0].Prefixes = append(newP.Orgs[0].Prefixes, pfx("198.18.9.0/24"))
	p := MakePlan(oldP, Compile(oldP), newP, Compile(newP))
	if !reflect.DeepEqual(p.Rules, Changes{Added: []string{"a/dns"}, Removed: []string{"a/web"}, Changed: []string{"a/range"}}) {
		t.Errorf("rules = %+v", p.Rules)
	}
	if !reflect.DeepEqual(p.Prefixes.Added, []string{"a 198.18.9.0/24"}) || !reflect.DeepEqual(p.Orgs.Changed, []string{"a"}) {
		t.Errorf("prefixes = %+v, orgs = %+v", p.Prefixes, p.Orgs)
	}
	want := []FlowChange{
		{Org: "a", Dest: "198.19.10.0/24", Ports: "443/tcp", Was: "allow by a/web", Now: "drop"},
		{Org: "a", Dest: "198.19.11.0/24", Ports: "8041-8080/tcp", Was: "allow by a/range", Now: "drop"},
		{Org: "a", Dest: "198.19.20.53/32", Ports: "53/udp", Was: "drop", Now: "allow by a/dns"},
	}
	if !reflect.DeepEqual(p.Flows, want) {
		t.Errorf("flows = %+v\nwant %+v", p.Flows, want)
	}
	if s := p.Summary(); s != "organisations +0 -0 ~1, rules +1 -1 ~1, prefixes +1 -0; flow blocks: 1 start, 2 stop, 0 change" {
		t.Errorf("summary = %q", s)
	}
	if same := MakePlan(oldP, Compile(oldP), oldP, Compile(oldP)); !same.Empty() || len(same.Flows) != 0 {
		t.Errorf("a policy against itself: %+v", same)
	}
}

func TestPlanSuspension(t *testing.T) {
	oldP := orgWith(rules.Rule{ID: "web", To: []netip.Prefix{pfx("198.19.10.0/24")}, Ports: tcpPorts(443, 443)})
	newP := orgWith(rules.Rule{ID: "web", To: []netip.Prefix{pfx("198.19.10.0/24")}, Ports: tcpPorts(443, 443)})
	newP.Orgs[0].State = rules.StateSuspended
	p := MakePlan(oldP, Compile(oldP), newP, Compile(newP))
	want := []FlowChange{
		{Org: "a", Dest: "198.19.10.0/24", Ports: "443/tcp", Was: "allow by a/web", Now: "drop"},
		{Org: "a", Dest: "198.19.20.10/32", Ports: "80/tcp", Was: "drop", Now: "allow by remediation/patch"},
	}
	if !reflect.DeepEqual(p.Flows, want) {
		t.Errorf("flows = %+v", p.Flows)
	}
}

// TestPlanAcrossCheckouts: the same rules read from another directory
// (the next commit's scratch worktree) change nothing, and a runtime
// narrowing shows as a state change, not a policy one.
func TestPlanAcrossCheckouts(t *testing.T) {
	oldP := orgWith(rules.Rule{ID: "web", To: []netip.Prefix{pfx("198.19.10.0/24")}, Ports: tcpPorts(443, 443)})
	oldP.Orgs[0].Ingress[0].Pos = rules.Pos{File: "/var/lib/palisade/policy/organisations/a.yaml", Line: 3, Col: 5}
	newP := orgWith(rules.Rule{ID: "web", To: []netip.Prefix{pfx("198.19.10.0/24")}, Ports: tcpPorts(443, 443)})
	newP.Orgs[0].Ingress[0].Pos = rules.Pos{File: "/tmp/scratch/organisations/a.yaml", Line: 3, Col: 5}
	if p := MakePlan(oldP, Compile(oldP), newP, Compile(newP)); !p.Empty() || len(p.Orgs.Changed) != 0 {
		t.Errorf("the same rules in another checkout: %+v", p)
	}
	ns := []Narrowing{{Org: "a", Cause: CauseSuspended, Reason: "incident"}}
	p := MakePlan(oldP, Compile(oldP), Fold(newP, ns), Compile(newP).Narrow(ns))
	if p.Empty() || p.From != p.To || p.FromState == p.ToState || len(p.Narrowed) != 1 || len(p.Flows) != 2 {
		t.Errorf("a narrowing: %+v", p)
	}
}
