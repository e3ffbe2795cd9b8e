package agent

import (
	"net/http"
	"time"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// RuleHit is one rule of the running policy and when it last matched.
type RuleHit struct {
	Rule    string     `json:"rule"` // org/id, or remediation/service
	At      string     `json:"at"`   // file:line:col
	Packets uint64     `json:"packets"`
	LastHit *time.Time `json:"last_hit"` // nil: never, since the counters were created
}

// RuleHits lists every rule of the running policy with its hit counters,
// which live in pinned maps and so span agent restarts.
func (a *Agent) RuleHits() ([]RuleHit, error) {
	p := a.Policy()
	if p == nil {
		return nil, control.Errorf(http.StatusConflict, "this agent has published no policy yet")
	}
	counts, err := a.dp.Counters().RuleCounts()
	if err != nil {
		return nil, err
	}
	out := make([]RuleHit, 0, len(p.Rules))
	for _, r := range p.Rules {
		c := counts[r.Name]
		h := RuleHit{Rule: r.Name, At: r.Pos.String(), Packets: c.Packets}
		if c.LastHitNs != 0 {
			t := datapath.MonotonicToWall(c.LastHitNs).UTC()
			h.LastHit = &t
		}
		out = append(out, h)
	}
	return out, nil
}

func (a *Agent) reportAPI(srv *control.Server) {
	srv.Handle("GET /v1/rules/hits", func(*http.Request) (any, error) { return a.RuleHits() })
}
