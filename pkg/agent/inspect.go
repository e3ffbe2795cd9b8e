package agent

import (
	"context"
	"sync/atomic"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/inspect"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
	"github.com/prometheus/client_golang/prometheus"
)

// inspection is the agent's userspace inspector of flagged flows and the
// rule index it decides with.
type inspection struct {
	in  *inspect.Inspector
	idx atomic.Pointer[ruleIndex]
}

// ruleIndex finds a rule's inspect block by name in one compiled policy.
type ruleIndex struct {
	p    *policy.Compiled
	m    map[string]*rules.Inspect
	orgs int            // organisations with inspected rules
	own  map[string]int // organisations' own inspector quotas (limits: inspected_flows)
}

// guardInspected makes inspected packets drop (fail-closed) or pass
// (fail-open) until the inspector runs, before XDP marks any; also when
// the inspector is disabled, or marked packets would pass unread.
func (a *Agent) guardInspected() error {
	return inspect.Guard()
}

// startInspector runs the inspector; stop leaves the stopped rules.
func (a *Agent) startInspector() (stop func(), err error) {
	if a.cfg.Inspect.Disabled {
		return func() {}, nil
	}
	q := inspect.Queues{First: a.cfg.Inspect.Queue, N: a.cfg.Inspect.Queues}
	b := inspect.Budget{OrgFlows: a.cfg.Inspect.OrgFlowQuota, Orgs: a.inspectedOrgs, Own: a.inspectOwn}
	in, err := inspect.Start(a.dp, a.inspectRule, q, b, a.log)
	if err != nil {
		return nil, err
	}
	a.insp.in = in
	return func() {
		if err := in.Stop(); err != nil {
			a.log.Error("stop inspector", "err", err)
		}
	}, nil
}

// inspectionStatus is the queue path as the watcher last found it, or as
// it is now when the inspector is off (the guard's chain, the blackhole).
func (a *Agent) inspectionStatus() control.InspectionStatus {
	if a.insp.in != nil {
		return control.InspectionStatus{Running: true, QueuePath: a.insp.in.QueuePath()}
	}
	return control.InspectionStatus{QueuePath: inspect.QueuePathNow(context.Background())}
}

// inspectRule is the inspector's RuleFinder over the policy in force.
func (a *Agent) inspectRule(name string) *rules.Inspect {
	if idx := a.ruleIndex(); idx != nil {
		return idx.m[name]
	}
	return nil
}

// inspectedOrgs counts the organisations with inspected rules in the
// policy in force: the inspector's fair share divides by it.
func (a *Agent) inspectedOrgs() int {
	if idx := a.ruleIndex(); idx != nil {
		return idx.orgs
	}
	return 0
}

// inspectOwn is an organisation's own inspector quota in the policy in
// force, 0 when it sets none.
func (a *Agent) inspectOwn(org string) int {
	if idx := a.ruleIndex(); idx != nil {
		return idx.own[org]
	}
	return 0
}

// ruleIndex is the index of the policy in force, made once per policy.
func (a *Agent) ruleIndex() *ruleIndex {
	p := a.Policy()
	if p == nil {
		return nil
	}
	idx := a.insp.idx.Load()
	if idx == nil || idx.p != p {
		idx = &ruleIndex{p: p, m: map[string]*rules.Inspect{}}
		orgs := map[string]bool{}
		for _, r := range p.Rules {
			if r.Verdict == policy.Inspect && r.Inspect != nil {
				idx.m[r.Name] = r.Inspect
				orgs[r.Org] = true
			}
		}
		idx.orgs = len(orgs)
		idx.own = map[string]int{}
		for _, o := range p.Orgs {
			if o.InspectedFlows > 0 {
				idx.own[o.ID] = int(o.InspectedFlows)
			}
		}
		a.insp.idx.Store(idx)
	}
	return idx
}

// inspectCollectors are the inspector's metrics, when it runs.
func (a *Agent) inspectCollectors() []prometheus.Collector {
	if a.insp.in == nil {
		return nil
	}
	return a.insp.in.Collectors()
}
