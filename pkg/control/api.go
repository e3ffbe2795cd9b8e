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
