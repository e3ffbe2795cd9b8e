package agent

import (
	"net/http"
	"time"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// RuleHits is what `palisade report unused` reads: every rule of the
// running policy with its counters, and since when each has been counted,
// so the report claims no quiet period longer than the counting.
type RuleHits struct {
	// CountersCreated is when the counters began: they start at zero after
	// a reboot or `palisade clean`. Zero when the agent cannot tell.
	CountersCreated time.Time      `json:"counters_created,omitzero"`
	CountersReset   *CountersReset `json:"counters_reset,omitempty"`
	Rules           []RuleHit      `json:"rules"`
}

// RuleHit is one rule of the running policy and when it last matched.
type RuleHit struct {
	Rule    string     `json:"rule"` // org/id, or remediation/service
	At      string     `json:"at"`   // file:line:col
	Packets uint64     `json:"packets"`
	LastHit *time.Time `json:"last_hit"` // nil: never, since the counters were created
	// CountingSince is when the rule began to be counted: when it entered
	// the running policy, or when the counters were created, if later.
	// Nil when unknown: then nothing can be said of its quiet.
	CountingSince *time.Time `json:"counting_since"`
}

// RuleHits lists every rule of the running policy with its hit counters,
// which live in pinned maps and so span agent restarts, but not reboots.
func (a *Agent) RuleHits() (*RuleHits, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.policy
	if p == nil {
		return nil, control.Errorf(http.StatusConflict, "this agent has published no policy yet")
	}
	counts, err := a.dp.Counters().RuleCounts()
	if err != nil {
		return nil, err
	}
	out := &RuleHits{Rules: make([]RuleHit, 0, len(p.Rules))}
	cn := a.counting
	if cn != nil {
		out.CountersCreated, out.CountersReset = cn.Counters.Created, cn.Reset
	}
	for _, r := range p.Rules {
		c := counts[r.Name]
		h := RuleHit{Rule: r.Name, At: r.Pos.String(), Packets: c.Packets}
		if c.LastHitNs != 0 {
			t := datapath.MonotonicToWall(c.LastHitNs).UTC()
			h.LastHit = &t
		}
		if cn != nil {
			if t := cn.since(r.Name); !t.IsZero() {
				h.CountingSince = &t
			}
		}
		out.Rules = append(out.Rules, h)
	}
	return out, nil
}

func (a *Agent) reportAPI(srv *control.Server) {
	srv.Handle("GET /v1/rules/hits", func(*http.Request) (any, error) { return a.RuleHits() })
}
