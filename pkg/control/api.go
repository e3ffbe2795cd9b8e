package control

import "github.com/palisade-psn/palisade/pkg/datapath"

// Status is what GET /v1/status answers.
type Status struct {
	Agent      string                                 `json:"agent"`
	Interfaces []InterfaceStatus                      `json:"interfaces"`
	Policy     PolicyStatus                           `json:"policy"`
	Orgs       map[string]map[string]datapath.Counter `json:"organisations"`
	Drops      map[string]datapath.Counter            `json:"drops"`
	Forwarded  map[string]datapath.Counter            `json:"forwarded"`
	Flows      FlowsStatus                            `json:"flows"`
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
	Digest        string `json:"digest"`
	Organisations int    `json:"organisations"`
	Rules         int    `json:"rules"`
}
