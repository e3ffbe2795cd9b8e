package agent

import (
	"net/http"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// serveControl opens the local API. Each feature registers its endpoints
// with one function in its own file, listed here.
func (a *Agent) serveControl() (*control.Server, error) {
	srv, err := control.Listen(a.cfg.Socket)
	if err != nil {
		return nil, err
	}
	for _, register := range []func(*control.Server){
		a.statusAPI,
		a.flowsAPI,
		a.capturesAPI,
		a.topAPI,
		a.applyAPI,   // issue 3: apply, plan
		a.orgAPI,     // issue 3: org suspend, restore
		a.auditAPI,   // issue 3: audit, audit verify
		a.reportAPI,  // issue 3: rule hits for report unused
		a.explainAPI, // issue 19: explain and test against the running boundary
	} {
		register(srv)
	}
	go func() {
		if err := srv.Serve(); err != nil {
			a.log.Error("control API", "err", err)
		}
	}()
	a.log.Info("control API served", "socket", a.cfg.Socket)
	return srv, nil
}

func (a *Agent) statusAPI(srv *control.Server) {
	srv.Handle("GET /v1/status", func(*http.Request) (any, error) { return a.Status() })
}

// Status gathers what `palisade status` shows.
func (a *Agent) Status() (*control.Status, error) {
	st := &control.Status{Interfaces: []control.InterfaceStatus{}}
	for _, ifname := range a.cfg.Interfaces {
		mode, err := datapath.XDPMode(ifname)
		s := control.InterfaceStatus{Interface: ifname, Mode: string(mode)}
		if err != nil {
			s.Mode = "not attached (" + err.Error() + ")"
		}
		st.Interfaces = append(st.Interfaces, s)
	}
	var err error
	if st.Policy.PolicyState, err = a.dp.PolicyState(); err != nil {
		return nil, err
	}
	if p := a.Policy(); p != nil {
		st.Policy.PolicyDigest, st.Policy.StateDigest = p.PolicyDigest, p.Digest
		st.Policy.Narrowed = append([]policy.Narrowing{}, p.Narrowed...)
		st.Policy.Organisations, st.Policy.Rules = len(p.Orgs), len(p.Rules)
		st.Limits = orgLimits(p)
	}
	c := a.dp.Counters()
	if st.Orgs, err = c.OrgCounts(); err != nil {
		return nil, err
	}
	if st.Drops, err = c.DropCounts(); err != nil {
		return nil, err
	}
	if st.Forwarded, err = c.ForwardCounts(); err != nil {
		return nil, err
	}
	st.Flows.TableSize = c.FlowTableCapacity()
	if st.Flows.Orgs, err = a.dp.FlowUse(); err != nil {
		return nil, err
	}
	if st.Refusals, err = c.OrgRefusals(); err != nil {
		return nil, err
	}
	st.Inspection = a.inspectionStatus()
	return st, nil
}

// orgLimits is each organisation's limits: block in p, for those that set
// any: status shows the operator's caps beside what they refused.
func orgLimits(p *policy.Compiled) map[string]control.OrgLimits {
	out := map[string]control.OrgLimits{}
	for _, o := range p.Orgs {
		l := control.OrgLimits{Flows: o.FlowQuota, Fragments: o.FragQuota,
			NewFlowsPerSecond: o.NewFlowsPerSecond, PacketsPerSecond: o.PacketsPerSecond, BytesPerSecond: o.BytesPerSecond}
		if l != (control.OrgLimits{}) {
			out[o.ID] = l
		}
	}
	return out
}
