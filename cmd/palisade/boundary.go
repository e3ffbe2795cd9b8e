package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// asked is what explain and test were asked to answer for.
type asked struct {
	dir     string        // the rules directory named, "" for none
	rules   *rules.Policy // dir loaded, nil without dir
	offline bool          // --offline: dir alone, whatever runs here
}

// explainFlows decides flows for the boundary asked about: the running
// agent's (its policy in force with the suspensions and lapses the
// datapath holds) unless --offline, or the rules directory offline when
// asked or when no agent runs. The Boundary says which it was.
func explainFlows(g *globals, a asked, flows []rules.Flow) (control.Boundary, []policy.Explanation, error) {
	if !a.offline {
		ans, err := explainLive(g, flows)
		switch {
		case err == nil:
			if a.rules != nil {
				if d := policy.Compile(a.rules).PolicyDigest; d != ans.Boundary.PolicyDigest {
					ans.Boundary.Note = fmt.Sprintf("the rules in %s (policy digest %s) are not the policy in force: this is the running boundary's answer; --offline answers for %s",
						a.dir, short(d), a.dir)
				}
			}
			return ans.Boundary, ans.Explanations, nil
		case !errors.Is(err, control.ErrNoAgent):
			return control.Boundary{}, nil, fmt.Errorf("ask the running agent: %w (--offline answers for a rules directory alone)", err)
		case a.rules == nil:
			return control.Boundary{}, nil, fmt.Errorf("%w: name a rules directory to answer for it offline", err)
		}
	}
	b, c := offline(a)
	if !a.offline {
		b.Note = "palisaded is not running here"
		if p, err := datapath.OpenPinned(g.pinPath); err == nil {
			p.Close()
			b.Note += "; the pinned datapath still enforces the last agent's state, its suspensions included, which this answer cannot see"
		}
	}
	out := make([]policy.Explanation, 0, len(flows))
	for _, f := range flows {
		out = append(out, c.Explain(f))
	}
	return b, out, nil
}

// explainBatch is how many flows go in one request: well inside the
// agent's bound on a request's size.
const explainBatch = 2000

// explainLive asks the agent about flows, a batch at a time, all of them
// decided with the same state.
func explainLive(g *globals, flows []rules.Flow) (control.ExplainAnswer, error) {
	var out control.ExplainAnswer
	c := control.NewClient(g.socket)
	for start := 0; start == 0 || start < len(flows); start += explainBatch {
		var ans control.ExplainAnswer
		req := control.ExplainRequest{Flows: flows[start:min(start+explainBatch, len(flows))]}
		if err := c.Post("/v1/explain", req, &ans); err != nil {
			return out, err
		}
		if start > 0 && (ans.Boundary.StateDigest != out.Boundary.StateDigest || ans.Boundary.PolicyDigest != out.Boundary.PolicyDigest) {
			return out, fmt.Errorf("the running boundary changed while the flows were decided (state digest %s -> %s); run again",
				short(out.Boundary.StateDigest), short(ans.Boundary.StateDigest))
		}
		out.Boundary = ans.Boundary
		out.Explanations = append(out.Explanations, ans.Explanations...)
	}
	return out, nil
}

// offline compiles the rules asked about as a gateway with no suspensions
// of its own would enforce them now: certificates lapsed by now narrowed,
// agreements expired by now left out (by the loader), with the same code
// the agent narrows with.
func offline(a asked) (control.Boundary, *policy.Compiled) {
	c := policy.Compile(a.rules).Narrow(policy.Narrowings(a.rules, nil, time.Now()))
	b := control.Boundary{Source: control.BoundaryOffline, Rules: a.dir, PolicyDigest: c.PolicyDigest, StateDigest: c.Digest,
		Narrowed: c.Narrowed, Note: "asked with --offline"}
	return b, c
}

// printBoundary says, first, which state an answer is for.
func printBoundary(w io.Writer, b control.Boundary) {
	narrowed := "nothing narrowed"
	if n := len(b.Narrowed); n > 0 {
		narrowed = plural(n, "organisation") + " narrowed to remediation"
	}
	switch b.Source {
	case control.BoundaryRunning:
		fmt.Fprintf(w, "answering for the running boundary: policy digest %s, state digest %s, generation %d, %s\n",
			short(b.PolicyDigest), short(b.StateDigest), b.Generation, narrowed)
	default:
		fmt.Fprintf(w, "answering offline for the rules in %s (%s): policy digest %s, state digest %s, %s; no gateway's own suspensions\n",
			b.Rules, b.Note, short(b.PolicyDigest), short(b.StateDigest), narrowed)
	}
	for _, n := range b.Narrowed {
		fmt.Fprintf(w, "  %s: %s\n", n.Org, n)
	}
	for _, p := range b.Pending {
		fmt.Fprintf(w, "  not in the datapath yet: %s\n", p)
	}
	if b.Source == control.BoundaryRunning && b.Note != "" {
		fmt.Fprintf(w, "  note: %s\n", b.Note)
	}
}
