package agent

import (
	"time"

	"github.com/palisade-psn/palisade/pkg/rules"
)

// Reasons an organisation is narrowed to remediation outside its file.
const reasonCertificateExpired = "certificate-expired"

// fold returns a copy of p with the agent's own knowledge applied: the
// organisations suspended from the CLI, and those whose compliance
// certificate has lapsed, are suspended. Every compile goes through it, so
// a suspension survives restarts and later applies. narrowed names the
// organisations fold suspended, with why.
func fold(p *rules.Policy, suspended map[string]Suspension, now time.Time) (*rules.Policy, map[string]string) {
	out := *p
	out.Orgs = make([]*rules.Organisation, len(p.Orgs))
	narrowed := map[string]string{}
	for i, o := range p.Orgs {
		c := *o
		if c.State != rules.StateSuspended {
			if s, ok := suspended[o.ID]; ok {
				c.State, narrowed[o.ID] = rules.StateSuspended, s.Reason
			} else if o.Certificate.Lapsed(now) {
				c.State, narrowed[o.ID] = rules.StateSuspended, reasonCertificateExpired
			}
		}
		out.Orgs[i] = &c
	}
	return &out, narrowed
}

// orgIndex is the index of organisation id in a policy's (sorted) list.
func orgIndex(p *rules.Policy, id string) int {
	for i, o := range p.Orgs {
		if o.ID == id {
			return i
		}
	}
	return -1
}
