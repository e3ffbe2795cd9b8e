package agent

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/palisade-psn/palisade/pkg/audit"
	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// ApplyResult is what an apply did.
type ApplyResult struct {
	PolicyDigest string            `json:"policy_digest"` // as `palisade validate` prints it for the rules
	StateDigest  string            `json:"state_digest"`  // with the agent's runtime narrowing: what the datapath holds
	Generation   uint32            `json:"generation"`
	Plan         *policy.Plan      `json:"plan"`
	FlowsCut     int               `json:"flows_cut"`
	FlowsKept    int               `json:"flows_kept"`
	Narrowed     map[string]string `json:"narrowed,omitempty"` // organisations suspended by the agent, and why
	Warnings     []string          `json:"warnings"`
}

// Apply loads the rules in dir, publishes them atomically and cuts the
// flows they no longer allow. An invalid rule set is refused whole and the
// running policy stays. Either way the audit log records it: an apply is
// recorded before it is published (with the digests and plan it will
// publish), and one the log cannot record is not published. The flows it
// cuts are known only after, so they are logged, not recorded.
func (a *Agent) Apply(dir, user string) (res *ApplyResult, err error) {
	defer a.lastApply.note(&err)
	a.mu.Lock()
	defer a.mu.Unlock()
	rec := audit.Record{User: user, Action: "apply", Subject: dir, Result: "ok"}
	var intent *audit.Record
	res, err = a.apply(dir, func(c *policy.Compiled, plan *policy.Plan, narrowed map[string]string) error {
		rec.Digest, rec.StateDigest = c.PolicyDigest, c.Digest
		rec.Detail = audit.Detail(map[string]any{"plan": plan.Summary(), "narrowed": narrowed})
		got, err := a.recordFirst(rec, "not applied")
		if err == nil {
			intent = &got
		}
		return err
	})
	if err == nil {
		a.count("apply", "ok")
		return res, nil
	}
	a.count("apply", "refused")
	a.log.Error("apply refused; the running policy stays", "dir", dir, "user", user, "err", err)
	switch {
	case isUnrecorded(err): // the log can record nothing
	case intent != nil:
		a.record(notMade(rec, intent.Seq, err))
	default:
		rec.Result, rec.Detail = "refused", audit.Detail(map[string]string{"error": err.Error()})
		a.record(rec)
	}
	return nil, err
}

// intentFunc records a change before it is made, given what will be
// published; an error stops the change.
type intentFunc func(c *policy.Compiled, plan *policy.Plan, narrowed map[string]string) error

func (a *Agent) apply(dir string, intent intentFunc) (*ApplyResult, error) {
	raw, err := rules.Load(dir)
	if err != nil {
		return nil, control.Errorf(http.StatusUnprocessableEntity, "rules refused: %s:\n%v", dir, err)
	}
	return a.publish(raw, intent)
}

// publish compiles raw, narrows it by the agent's state, has intent
// record it, publishes it and cuts the flows it refuses.
func (a *Agent) publish(raw *rules.Policy, intent intentFunc) (*ApplyResult, error) {
	ns := narrowings(raw, a.state.Suspended, time.Now())
	base := policy.Compile(raw)
	base.Attach(a.cfg.Interfaces)
	p, c := policy.Fold(raw, ns), base.Narrow(ns)
	plan := policy.MakePlan(a.folded, a.policy, p, c)
	if err := intent(c, plan, narrowedWhy(ns)); err != nil {
		return nil, err
	}
	pub, err := a.dp.Publish(c, a.cfg.Interfaces)
	if err != nil {
		return nil, control.Errorf(http.StatusUnprocessableEntity, "%v", err)
	}
	for _, s := range pub.Skipped {
		a.log.Warn("ingress in rules has no interface on this host; its organisations cannot reach the boundary here", "ingress", s)
	}
	a.loaded, a.folded, a.policy = raw, p, c
	a.noteRules(c)
	res := &ApplyResult{PolicyDigest: c.PolicyDigest, StateDigest: c.Digest, Generation: pub.Generation, Plan: plan,
		Narrowed: narrowedWhy(ns), Warnings: []string{}}
	for _, w := range raw.Warnings {
		res.Warnings = append(res.Warnings, w.Error())
		a.log.Warn("rules", "warning", w.Error())
	}
	res.FlowsKept, res.FlowsCut, err = a.cutFlows(c)
	if err != nil {
		a.log.Error("cut flows the new policy refuses", "err", err)
	}
	a.log.Info("policy published", "generation", pub.Generation, "policy_digest", c.PolicyDigest[:16], "state_digest", c.Digest[:16], "organisations", len(c.Orgs),
		"rules", len(c.Rules), "entries", pub.Entries, "plan", plan.Summary(), "flows_cut", res.FlowsCut)
	return res, nil
}

// cutGrace lets packets that read the old generation just before the flip
// finish (XDP runs to completion in microseconds) before the flow table is
// walked, so a flow they create under the old policy is walked too.
const cutGrace = 20 * time.Millisecond

// cutFlows asks c again about every remembered flow's first packet and
// removes those it refuses.
func (a *Agent) cutFlows(c *policy.Compiled) (kept, cut int, err error) {
	time.Sleep(cutGrace)
	names := map[int]string{}
	ifs, err := net.Interfaces()
	if err != nil {
		return 0, 0, fmt.Errorf("list interfaces: %w", err)
	}
	for _, i := range ifs {
		names[i.Index] = i.Name
	}
	return a.dp.CutFlows(func(o datapath.FlowOrigin) bool {
		q := policy.Query{Interface: names[o.Ifindex], VLAN: o.VLAN, InnerVLAN: o.InnerVLAN,
			Src: o.Src, Dst: o.Dst, Proto: o.Proto, Port: o.DstPort}
		return c.Decide(q).Verdict != policy.Drop
	})
}
