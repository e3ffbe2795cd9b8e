package agent

import (
	"net/http"

	"github.com/palisade-psn/palisade/pkg/control"
)

// topAPI serves the counters `palisade top` ranks by their deltas.
func (a *Agent) topAPI(srv *control.Server) {
	srv.Handle("GET /v1/counters", func(*http.Request) (any, error) {
		c := a.dp.Counters()
		var out control.Counters
		var err error
		if out.Orgs, err = c.OrgCounts(); err != nil {
			return nil, err
		}
		out.Rules, err = c.RuleCounts()
		return out, err
	})
}
