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
		r := audit.Record{User: "palisaded", Action: "suspend", Subject: o.ID, Result: "ok",
			Detail: audit.Detail(map[string]string{"reason": reasonCertificateExpired})}
		var seq uint64
		_, err := a.setNarrowed(o.ID, &policy.Narrowing{Org: o.ID, Cause: policy.CauseCertificateExpired, Since: o.Certificate.Expires},
			func(c *policy.Compiled) error {
				r.Digest, r.StateDigest = c.PolicyDigest, c.Digest
				seq = a.recordScheduled(r, reasonCertificateExpired)
				return nil
			})
		switch {
		case err != nil:
			a.log.Error("narrow organisation", "org", o.ID, "err", err)
			a.count(reasonCertificateExpired, "error")
			a.record(notMade(r, seq, err))
		case seq != 0:
			a.count(reasonCertificateExpired, "ok")
		}
	}
}

// recordScheduled records a narrowing that the rules themselves schedule
// (a certificate's expiry date, an agreement's end) before it is made, and
// returns the record's number. Unlike an operator's change, it is made
// even when the audit log cannot record it (then 0 is returned): the rule
// files in git are its record, and not making it would keep open what the
// policy closes. The failure is logged and counted as "unrecorded".
func (a *Agent) recordScheduled(r audit.Record, action string) uint64 {
	got, err := a.recordFirst(r, "made anyway: the rules schedule it")
	if err != nil {
		a.count(action, "unrecorded")
		return 0
	}
	return got.Seq
}

// dropExpiredAgreements publishes the running rules without the
// agreements expired by now. It does not read the files again: whatever
// they hold now, the expired agreement's flows must stop.
func (a *Agent) dropExpiredAgreements(now time.Time) {
	a.log.Warn("a data-sharing agreement expired; its rules are withdrawn", "reason", "agreement-expired")
	r := audit.Record{User: "palisaded", Action: "apply", Subject: a.loaded.Dir, Result: "ok"}
	var seq uint64
	_, err := a.publish(a.loaded.WithoutExpired(now), func(c *policy.Compiled, plan *policy.Plan, _ map[string]string) error {
		r.Digest, r.StateDigest = c.PolicyDigest, c.Digest
		r.Detail = audit.Detail(map[string]any{"reason": "agreement-expired", "plan": plan.Summary()})
		seq = a.recordScheduled(r, "agreement-expired")
		return nil
	})
	switch {
	case err != nil:
		a.log.Error("withdraw expired agreement", "err", err)
		a.count("agreement-expired", "error")
		a.record(notMade(r, seq, err))
	case seq != 0:
		a.count("agreement-expired", "ok")
	}
}
