package control

import (
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// Sources of an answer of explain, test or plan.
const (
	// BoundaryRunning: the running agent's policy in force with its runtime
	// narrowing, the tables and suspended flags the datapath holds.
	BoundaryRunning = "running"
	// BoundaryOffline: a rules directory, as a gateway with no suspensions
	// of its own would enforce it now (lapsed certificates narrowed).
	BoundaryOffline = "offline"
)

// Boundary is the state an answer was decided with, so that it can say so.
type Boundary struct {
	Source       string `json:"source"`               // BoundaryRunning or BoundaryOffline
	Rules        string `json:"rules,omitempty"`      // offline: the rules directory
	Generation   uint32 `json:"generation,omitempty"` // running: the datapath's active generation
	PolicyDigest string `json:"policy_digest"`        // as `palisade validate` prints it for the rules
	StateDigest  string `json:"state_digest"`         // the policy with the narrowing below
	// Narrowed is every organisation held to remediation although its rule
	// file does not suspend it, and why.
	Narrowed []policy.Narrowing `json:"narrowed"`
	// Pending is what is due but not in the datapath yet (a certificate
	// lapsed, an agreement expired since the agent's last compliance
	// check), so not in this answer.
	Pending []string `json:"pending,omitempty"`
	Note    string   `json:"note,omitempty"` // why this source, when it was not asked for
}

// ExplainRequest is POST /v1/explain's body: flows to decide.
type ExplainRequest struct {
	Flows []rules.Flow `json:"flows"`
}

// ExplainAnswer is each flow's explanation, in order, and the state they
// were decided with.
type ExplainAnswer struct {
	Boundary     Boundary             `json:"boundary"`
	Explanations []policy.Explanation `json:"explanations"`
}

// PlanAnswer is POST /v1/plan's answer: the plan against the state named.
type PlanAnswer struct {
	Boundary Boundary `json:"boundary"`
	*policy.Plan
}
