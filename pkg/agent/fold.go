package agent

import (
	"time"

	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// Reasons an organisation is narrowed to remediation outside its file.
const reasonCertificateExpired = policy.CauseCertificateExpired

// narrowings is the agent's own knowledge of p at now: the organisations
// suspended from the CLI, and those whose compliance certificate has
// lapsed. Every apply compiles p and narrows it by this, so a suspension
// survives restarts and later applies; between applies, suspensions,
// restorations and lapses change it one organisation at a time.
func narrowings(p *rules.Policy, suspended map[string]Suspension, now time.Time) []policy.Narrowing {
	byOrg := make(map[string]policy.Narrowing, len(suspended))
	for org, s := range suspended {
		byOrg[org] = policy.Narrowing{Reason: s.Reason, By: s.By, Since: s.Since}
	}
	return policy.Narrowings(p, byOrg, now)
}

// narrowedWhy is ApplyResult.Narrowed: each narrowed organisation and why
// (the operator's reason, or certificate-expired).
func narrowedWhy(ns []policy.Narrowing) map[string]string {
	out := map[string]string{}
	for _, n := range ns {
		out[n.Org] = n.Reason
		if n.Cause == policy.CauseCertificateExpired {
			out[n.Org] = reasonCertificateExpired
		}
	}
	return out
}

// withNarrowing is ns with org's narrowing replaced by n, or removed when
// n is nil.
func withNarrowing(ns []policy.Narrowing, org string, n *policy.Narrowing) []policy.Narrowing {
	out := make([]policy.Narrowing, 0, len(ns)+1)
	for _, x := range ns {
		if x.Org != org {
			out = append(out, x)
		}
	}
	if n != nil {
		out = append(out, *n)
	}
	return out
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
