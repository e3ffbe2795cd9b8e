package agent

import (
	"fmt"
	"net/http"

	"github.com/palisade-psn/palisade/pkg/audit"
	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/prometheus/client_golang/prometheus"
)

// newChangeCounter counts policy changes by action and result; a refused
// apply shows in metrics as palisade_policy_changes_total{result="refused"}.
func newChangeCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "palisade_policy_changes_total",
		Help: "Policy changes by action (apply, suspend, restore, certificate-expired) and result (ok, refused).",
	}, []string{"action", "result"})
}

func (a *Agent) count(action, result string) { a.changes.WithLabelValues(action, result).Inc() }

// record appends to the audit log and remembers its head in the state
// file. A failure to audit is logged loudly; the change itself stands.
func (a *Agent) record(r audit.Record) {
	if a.audit == nil {
		return
	}
	got, err := a.audit.Append(r)
	if err != nil {
		a.log.Error("AUDIT LOG NOT WRITTEN", "action", r.Action, "subject", r.Subject, "err", err)
		return
	}
	a.state.AuditHead = AuditHead{Seq: got.Seq, Hash: got.Hash}
	if err := a.state.save(a.cfg.StateDir); err != nil {
		a.log.Error("save audit head", "err", err)
	}
}

// AuditVerdict is what `palisade audit verify` reports.
type AuditVerdict struct {
	OK      bool      `json:"ok"`
	Records int       `json:"records"`
	Head    AuditHead `json:"agent_head"` // the last record the agent wrote
	Error   string    `json:"error,omitempty"`
}

// VerifyAudit checks the chain, then that it still ends where the agent
// last wrote: removing the last records leaves a valid chain, but not the
// head the agent remembers.
func (a *Agent) VerifyAudit() AuditVerdict {
	// Under mu, as every append is: the file is read whole, never mid-write.
	a.mu.Lock()
	defer a.mu.Unlock()
	head := a.state.AuditHead
	v := AuditVerdict{Head: head}
	n, err := audit.Verify(a.cfg.AuditLog)
	v.Records = n
	if err != nil {
		v.Error = err.Error()
		return v
	}
	recs, err := audit.Read(a.cfg.AuditLog)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	switch {
	case head.Seq > uint64(len(recs)):
		v.Error = fmt.Sprintf("the log ends at record %d but the agent wrote up to record %d: records were cut off the end", len(recs), head.Seq)
	case head.Seq > 0 && recs[head.Seq-1].Hash != head.Hash:
		v.Error = fmt.Sprintf("record %d is not the one the agent wrote", head.Seq)
	default:
		v.OK = true
	}
	return v
}

func (a *Agent) auditAPI(srv *control.Server) {
	srv.Handle("GET /v1/audit", func(*http.Request) (any, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		recs, err := audit.Read(a.cfg.AuditLog)
		if recs == nil {
			recs = []audit.Record{}
		}
		return recs, err
	})
	srv.Handle("GET /v1/audit/verify", func(*http.Request) (any, error) { return a.VerifyAudit(), nil })
}
