package control

import (
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/inspect"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// Status is what GET /v1/status answers.
type Status struct {
	Agent      string                                 `json:"agent"`
	Interfaces []InterfaceStatus                      `json:"interfaces"`
	Policy     PolicyStatus                           `json:"policy"`
	Orgs       map[string]map[string]datapath.Counter `json:"organisations"`
	Drops      map[string]datapath.Counter            `json:"drops"`
	Forwarded  map[string]datapath.Counter            `json:"forwarded"`
	Flows      FlowsStatus                            `json:"flows"`
	// Refusals is each organisation's packets refused by its own budgets,
	// by drop reason (flow_quota, flow_table_full, fragment_quota,
	// rate_limited); reasons never hit are absent (issue 17).
	Refusals map[string]map[string]datapath.Counter `json:"refusals"`
	// Limits is what each organisation's rule file sets in limits:, for
	// the organisations that set any.
	Limits map[string]OrgLimits `json:"limits"`
	// Inspection is the inspector's queue path (issue 18): as the running
	// agent's watcher last found it, or as found now when none runs.
	Inspection InspectionStatus `json:"inspection"`
}

// InspectionStatus says whether inspected packets reach the inspector.
type InspectionStatus struct {
	Running   bool                   `json:"running"`
	QueuePath inspect.QueuePathState `json:"queue_path"`
}

// OrgLimits is an organisation's limits: block as the policy in force has
// it; 0 is unset (the gateway's default quota, or no rate limit).
type OrgLimits struct {
	Flows             uint32 `json:"flows,omitempty"`
	Fragments         uint32 `json:"fragments,omitempty"`
	NewFlowsPerSecond uint64 `json:"new_flows_per_second,omitempty"`
	PacketsPerSecond  uint64 `json:"packets_per_second,omitempty"`
	BytesPerSecond    uint64 `json:"bytes_per_second,omitempty"`
}

// FlowsStatus is the flow table's size and what each organisation holds
// of it against its quota (issue 17).
type FlowsStatus struct {
	TableSize uint32                      `json:"table_size"`
	Orgs      map[string]datapath.FlowUse `json:"organisations"`
}

// InterfaceStatus is one attached interface.
type InterfaceStatus struct {
	Interface string `json:"interface"`
	Mode      string `json:"mode"`
}

// PolicyStatus is the policy in force.
type PolicyStatus struct {
	datapath.PolicyState
	// PolicyDigest is the rules' digest: the same on every gateway running
	// the same commit, and what `palisade validate` prints for it.
	PolicyDigest string `json:"policy_digest"`
	// StateDigest is the policy with the runtime narrowing below: the
	// tables and suspended flags the datapath holds. Equal to PolicyDigest
	// when nothing is narrowed.
	StateDigest   string             `json:"state_digest"`
	Narrowed      []policy.Narrowing `json:"narrowed"`
	Organisations int                `json:"organisations"`
	Rules         int                `json:"rules"`
}
