package agent

import (
	"context"
	"time"

	"github.com/palisade-psn/palisade/pkg/audit"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// startComplianceCheck narrows organisations whose compliance certificate
// lapses while the agent runs. (At apply time fold already does it.)
func (a *Agent) startComplianceCheck(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(a.cfg.ComplianceCheck)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				a.narrowLapsed(now)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// narrowLapsed suspends every organisation whose certificate has lapsed by
// now and that is not suspended yet, one datapath write each.
func (a *Agent) narrowLapsed(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.loaded == nil || a.policy == nil {
		return
	}
	if until := a.loaded.AgreementsUntil; !until.IsZero() && !now.Before(until) {
		a.dropExpiredAgreements(now)
	}
	for i, o := range a.loaded.Orgs {
		if !o.Certificate.Lapsed(now) || a.policy.Orgs[i].Suspended {
			continue
		}
		a.log.Warn("compliance certificate expired: narrowing to remediation", "org", o.ID,
			"expired", o.Certificate.Expires, "reason", reasonCertificateExpired)
		ch, err := a.setNarrowed(o.ID, &policy.Narrowing{Org: o.ID, Cause: policy.CauseCertificateExpired, Since: o.Certificate.Expires})
		r := audit.Record{User: "palisaded", Action: "suspend", Subject: o.ID, Result: "ok"}
		if err != nil {
			r.Result, r.Detail = "error", audit.Detail(map[string]string{"reason": reasonCertificateExpired, "error": err.Error()})
			a.log.Error("narrow organisation", "org", o.ID, "err", err)
		} else {
			r.Digest, r.StateDigest = ch.PolicyDigest, ch.StateDigest
			r.Detail = audit.Detail(map[string]any{"reason": reasonCertificateExpired, "flows_cut": ch.FlowsCut})
		}
		a.count(reasonCertificateExpired, r.Result)
		a.record(r)
	}
}

// dropExpiredAgreements publishes the running rules without the
// agreements expired by now. It does not read the files again: whatever
// they hold now, the expired agreement's flows must stop.
func (a *Agent) dropExpiredAgreements(now time.Time) {
	a.log.Warn("a data-sharing agreement expired; its rules are withdrawn", "reason", "agreement-expired")
	res, err := a.publish(a.loaded.WithoutExpired(now))
	r := audit.Record{User: "palisaded", Action: "apply", Subject: a.loaded.Dir, Result: "ok"}
	if err != nil {
		r.Result, r.Detail = "error", audit.Detail(map[string]string{"reason": "agreement-expired", "error": err.Error()})
		a.log.Error("withdraw expired agreement", "err", err)
	} else {
		r.Digest, r.StateDigest = res.PolicyDigest, res.StateDigest
		r.Detail = audit.Detail(map[string]any{"reason": "agreement-expired", "plan": res.Plan.Summary(), "flows_cut": res.FlowsCut})
	}
	a.count("agreement-expired", r.Result)
	a.record(r)
}
