package agent

import (
	"fmt"
	"net/http"
	"time"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// maxExplainFlows bounds one explain request (the CLI sends 2,000 at a
// time; the body is bounded at 1 MiB anyway).
const maxExplainFlows = 10_000

func (a *Agent) explainAPI(srv *control.Server) {
	srv.Handle("POST /v1/explain", func(r *http.Request) (any, error) {
		var in control.ExplainRequest
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		return a.Explain(in)
	})
}

// Explain decides flows with the policy in force, narrowed as the datapath
// has it (suspensions, lapsed certificates, agreements withdrawn on
// expiry): the same compiled tables and suspended flags the agent last
// wrote, decided by the same evaluator the differential tests hold to the
// program.
func (a *Agent) Explain(in control.ExplainRequest) (*control.ExplainAnswer, error) {
	if len(in.Flows) > maxExplainFlows {
		return nil, control.Errorf(http.StatusRequestEntityTooLarge, "%d flows in one request; at most %d", len(in.Flows), maxExplainFlows)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	b, err := a.boundary(time.Now())
	if err != nil {
		return nil, err
	}
	out := &control.ExplainAnswer{Boundary: b, Explanations: make([]policy.Explanation, 0, len(in.Flows))}
	for _, f := range in.Flows {
		out.Explanations = append(out.Explanations, a.policy.Explain(f))
	}
	return out, nil
}

// Plan says what applying dir would change against the running policy
// and its runtime state (which it names): the new rules are narrowed as an
// apply would narrow them now.
func (a *Agent) Plan(dir string) (*control.PlanAnswer, error) {
	raw, err := rules.Load(dir)
	if err != nil {
		return nil, control.Errorf(http.StatusUnprocessableEntity, "rules refused: %s:\n%v", dir, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	ns := narrowings(raw, a.state.Suspended, now)
	out := &control.PlanAnswer{Plan: policy.MakePlan(a.folded, a.policy, policy.Fold(raw, ns), policy.Compile(raw).Narrow(ns))}
	if a.policy == nil {
		out.Boundary = control.Boundary{Source: control.BoundaryRunning, Narrowed: []policy.Narrowing{}, Note: "no policy published yet"}
		return out, nil
	}
	out.Boundary, err = a.boundary(now)
	return out, err
}

// boundary describes the policy in force and its runtime state, with what
// is due by now but not yet in the datapath. Under mu.
func (a *Agent) boundary(now time.Time) (control.Boundary, error) {
	if a.policy == nil || a.loaded == nil {
		return control.Boundary{}, control.Errorf(http.StatusConflict, "this agent has published no policy yet")
	}
	b := control.Boundary{Source: control.BoundaryRunning, PolicyDigest: a.policy.PolicyDigest, StateDigest: a.policy.Digest,
		Narrowed: append([]policy.Narrowing{}, a.policy.Narrowed...)}
	st, err := a.dp.PolicyState()
	if err != nil {
		return b, err
	}
	b.Generation = st.Generation
	for i, o := range a.loaded.Orgs {
		if o.Certificate.Lapsed(now) && !a.policy.Orgs[i].Suspended {
			b.Pending = append(b.Pending, fmt.Sprintf("%s's compliance certificate expired at %s; the agent narrows it at its next compliance check (every %s)",
				o.ID, o.Certificate.Expires.UTC().Format(time.RFC3339), a.cfg.ComplianceCheck))
		}
	}
	if until := a.loaded.AgreementsUntil; !until.IsZero() && !now.Before(until) {
		b.Pending = append(b.Pending, fmt.Sprintf("a data-sharing agreement expired at %s; the agent withdraws its rules at its next compliance check (every %s)",
			until.UTC().Format(time.RFC3339), a.cfg.ComplianceCheck))
	}
	return b, nil
}
