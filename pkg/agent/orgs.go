package agent

import (
	"net/http"
	"strings"
	"time"

	"github.com/palisade-psn/palisade/pkg/audit"
	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// OrgChange is what a suspension or restoration did.
type OrgChange struct {
	Org          string `json:"organisation"`
	State        string `json:"state"`
	Reason       string `json:"reason,omitempty"`
	PolicyDigest string `json:"policy_digest"` // unchanged: a suspension is runtime state
	StateDigest  string `json:"state_digest"`  // what the datapath holds now
	FlowsCut     int    `json:"flows_cut"`
}

// Suspend narrows an organisation to remediation at once (one write to the
// active policy generation), cuts its flows that remediation does not
// allow, and remembers it in the state file so it survives restarts and
// later applies.
func (a *Agent) Suspend(org, reason, user string) (*OrgChange, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.orgChangeable(org); err != nil {
		return nil, err
	}
	if a.policy.Orgs[orgIndex(a.loaded, org)].Suspended {
		return nil, control.Errorf(http.StatusConflict, "organisation %s is already suspended", org)
	}
	s := Suspension{Reason: reason, By: user, Since: time.Now().UTC()}
	a.state.Suspended[org] = s
	var seq uint64
	ch, err := a.setNarrowed(org, &policy.Narrowing{Org: org, Cause: policy.CauseSuspended, Reason: s.Reason, By: s.By, Since: s.Since},
		a.orgIntent("suspend", org, user, reason, &seq))
	if err != nil {
		delete(a.state.Suspended, org)
		a.orgFailed("suspend", org, user, reason, seq, err)
		return nil, err
	}
	ch.Reason = reason
	a.count("suspend", "ok")
	return ch, nil
}

// Restore lifts a suspension made with Suspend. One written in the rule
// file, or due to a lapsed certificate, is lifted by changing the rules.
func (a *Agent) Restore(org, user string) (*OrgChange, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.orgChangeable(org); err != nil {
		return nil, err
	}
	prev, ok := a.state.Suspended[org]
	raw := a.loaded.Orgs[orgIndex(a.loaded, org)]
	switch {
	case raw.State == rules.StateSuspended:
		return nil, control.Errorf(http.StatusConflict, "organisation %s is suspended in its rule file (%s); restore it there", org, raw.Pos.File)
	case raw.Certificate.Lapsed(time.Now()):
		return nil, control.Errorf(http.StatusConflict, "organisation %s's compliance certificate expired on %s; renew it in the rules", org, raw.Certificate.Expires.Format(time.DateOnly))
	case !ok:
		return nil, control.Errorf(http.StatusConflict, "organisation %s is not suspended", org)
	}
	delete(a.state.Suspended, org)
	var seq uint64
	ch, err := a.setNarrowed(org, nil, a.orgIntent("restore", org, user, "", &seq))
	if err != nil {
		a.state.Suspended[org] = prev
		a.orgFailed("restore", org, user, "", seq, err)
		return nil, err
	}
	a.count("restore", "ok")
	return ch, nil
}

func (a *Agent) orgChangeable(org string) error {
	switch {
	case a.loaded == nil || a.policy == nil:
		return control.Errorf(http.StatusConflict, "this agent has published no policy yet")
	case orgIndex(a.loaded, org) < 0:
		return control.Errorf(http.StatusNotFound, "no organisation %q in the running policy", org)
	}
	return nil
}

// setNarrowed narrows org to remediation (n) or lifts its narrowing
// (nil), and nothing else: the policy in force keeps every other
// organisation as the datapath has it. It has intent record the change,
// then persists the state, flips the one organisation in the datapath and
// cuts flows; an error from intent stops it before anything changes.
func (a *Agent) setNarrowed(org string, n *policy.Narrowing, intent func(*policy.Compiled) error) (*OrgChange, error) {
	ns := withNarrowing(a.policy.Narrowed, org, n)
	c := a.policy.Narrow(ns)
	if err := intent(c); err != nil {
		return nil, err
	}
	if err := a.state.save(a.cfg.StateDir); err != nil {
		return nil, err
	}
	if err := a.dp.SetOrgSuspended(orgIndex(a.loaded, org), n != nil); err != nil {
		return nil, err
	}
	a.folded, a.policy = policy.Fold(a.loaded, ns), c
	_, cut, err := a.cutFlows(c)
	if err != nil {
		a.log.Error("cut flows after a state change", "org", org, "err", err)
	}
	st := rules.StateActive
	if n != nil {
		st = rules.StateSuspended
	}
	a.log.Info("organisation "+st.String(), "org", org, "flows_cut", cut, "state_digest", c.Digest[:16])
	return &OrgChange{Org: org, State: st.String(), PolicyDigest: c.PolicyDigest, StateDigest: c.Digest, FlowsCut: cut}, nil
}

// orgIntent records an operator's suspension or restoration before it is
// made: one the audit log cannot record is refused, and the organisation
// stays as it was. seq gets the record's number.
func (a *Agent) orgIntent(action, org, user, reason string, seq *uint64) func(*policy.Compiled) error {
	return func(c *policy.Compiled) error {
		r := orgRecord(action, org, user, reason)
		r.Digest, r.StateDigest = c.PolicyDigest, c.Digest
		got, err := a.recordFirst(r, "organisation "+org+" not "+strings.TrimSuffix(action, "e")+"ed")
		*seq = got.Seq
		return err
	}
}

// orgFailed counts a refused suspension or restoration and records it,
// unless it was refused for want of a record; seq is its intent's record,
// 0 when none was written.
func (a *Agent) orgFailed(action, org, user, reason string, seq uint64, err error) {
	a.count(action, "refused")
	r := orgRecord(action, org, user, reason)
	switch {
	case isUnrecorded(err):
	case seq != 0:
		a.record(notMade(r, seq, err))
	default:
		r.Result, r.Detail = "refused", audit.Detail(map[string]any{"reason": reason, "error": err.Error()})
		a.record(r)
	}
}

func orgRecord(action, org, user, reason string) audit.Record {
	r := audit.Record{User: user, Action: action, Subject: org, Result: "ok"}
	if reason != "" {
		r.Detail = audit.Detail(map[string]string{"reason": reason})
	}
	return r
}

func (a *Agent) orgAPI(srv *control.Server) {
	srv.Handle("POST /v1/orgs/{org}/suspend", func(r *http.Request) (any, error) {
		var in struct{ Reason string }
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		if in.Reason == "" {
			return nil, control.Errorf(http.StatusBadRequest, "a suspension needs a reason")
		}
		return a.Suspend(r.PathValue("org"), in.Reason, control.PeerUser(r))
	})
	srv.Handle("POST /v1/orgs/{org}/restore", func(r *http.Request) (any, error) {
		return a.Restore(r.PathValue("org"), control.PeerUser(r))
	})
}
