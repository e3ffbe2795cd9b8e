package control

import "github.com/palisade-psn/palisade/pkg/datapath"

// Counters is what GET /v1/counters answers: `palisade top` takes two a
// moment apart and ranks the differences.
type Counters struct {
	Orgs  map[string]map[string]datapath.Counter `json:"organisations"`
	Rules map[string]datapath.RuleCounter        `json:"rules"`
}
