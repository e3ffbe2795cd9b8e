package agent

import (
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/palisade-psn/palisade/pkg/audit"
	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"
)

// newChangeCounter counts policy changes by action and result; a refused
// apply shows in metrics as palisade_policy_changes_total{result="refused"}.
func newChangeCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "palisade_policy_changes_total",
		Help: "Policy changes by action (apply, suspend, restore, certificate-expired, agreement-expired) and result (ok, refused, error; unrecorded: a narrowing the rules schedule, made though the audit log could not be written).",
	}, []string{"action", "result"})
}

func (a *Agent) count(action, result string) { a.changes.WithLabelValues(action, result).Inc() }

// unrecordedError is a change refused because the audit log could not
// record it. It answers the API with 503 and says what was not done.
type unrecordedError struct{ *control.StatusError }

func (e unrecordedError) Unwrap() error { return e.StatusError }

func isUnrecorded(err error) bool {
	var u unrecordedError
	return errors.As(err, &u)
}

// recordFirst appends r, the record of a change about to be made, before
// it is made. A change the audit log cannot record is not made: the error
// says what was not done (notDone, e.g. "not applied") and why; the caller
// returns it without touching the boundary.
func (a *Agent) recordFirst(r audit.Record, notDone string) (audit.Record, error) {
	if a.audit == nil {
		return r, nil
	}
	got, err := a.audit.Append(r)
	if err != nil {
		a.log.Error("AUDIT LOG NOT WRITTEN: the change is refused", "action", r.Action, "subject", r.Subject, "err", err)
		return got, unrecordedError{&control.StatusError{Code: http.StatusServiceUnavailable,
			Msg: fmt.Sprintf("%s: cannot write the audit log: %v", notDone, err)}}
	}
	a.noteHead(got)
	return got, nil
}

// record appends the record of something that changed nothing, or of a
// change that failed after its record: nothing is left to refuse, so a
// failure is only logged, loudly.
func (a *Agent) record(r audit.Record) {
	if a.audit == nil {
		return
	}
	got, err := a.audit.Append(r)
	if err != nil {
		a.log.Error("AUDIT LOG NOT WRITTEN", "action", r.Action, "subject", r.Subject, "result", r.Result, "err", err)
		return
	}
	a.noteHead(got)
}

// noteHead remembers the last record written in the state file.
func (a *Agent) noteHead(got audit.Record) {
	a.state.AuditHead = AuditHead{Seq: got.Seq, Hash: got.Hash}
	if err := a.state.save(a.cfg.StateDir); err != nil {
		a.log.Error("save audit head", "err", err)
	}
}

// notMade is the record that follows an intent whose change then failed:
// the change recorded as record seq (0: none was written) was not made.
func notMade(r audit.Record, seq uint64, err error) audit.Record {
	r.Result, r.Digest, r.StateDigest = "error", "", ""
	d := map[string]any{"error": err.Error()}
	if seq != 0 {
		d["not_made"] = seq
	}
	r.Detail = audit.Detail(d)
	return r
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

// AuditLogPath is the audit log a config file names, for the CLI's own
// changes (detach, clean), which must land in the agent's chain. Only
// audit_log is read: the CLI must find the log even in a config the agent
// would refuse (no interfaces yet). A missing file that was not asked for
// explicitly means the default.
func AuditLogPath(config string, explicit bool) (string, error) {
	b, err := os.ReadFile(config)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return audit.DefaultPath, nil
	}
	if err != nil {
		return "", err
	}
	var c struct {
		AuditLog string `yaml:"audit_log"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return "", fmt.Errorf("%s: %w", config, err)
	}
	if c.AuditLog == "" {
		return audit.DefaultPath, nil
	}
	return c.AuditLog, nil
}
