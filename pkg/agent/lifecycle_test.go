package agent

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

func TestStateRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	st, err := loadState(dir)
	if err != nil || len(st.Suspended) != 0 {
		t.Fatalf("fresh state = %+v, %v", st, err)
	}
	st.Suspended["surrey-cc"] = Suspension{Reason: "patching", By: "root", Since: time.Unix(1, 0).UTC()}
	st.AuditHead = AuditHead{Seq: 3, Hash: "abc"}
	if err := st.save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := loadState(dir)
	if err != nil || got.Suspended["surrey-cc"].Reason != "patching" || got.AuditHead.Seq != 3 {
		t.Fatalf("reloaded state = %+v, %v", got, err)
	}
	os.WriteFile(statePath(dir), []byte("{broken"), 0o600)
	if _, err := loadState(dir); err == nil {
		t.Error("a corrupt state file was accepted")
	}
}

func TestFold(t *testing.T) {
	p, err := rules.Load("../../rules")
	if err != nil {
		t.Fatal(err)
	}
	lapsed := *p.Org("nhs-trust")
	lapsed.Certificate = &rules.Certificate{Expires: time.Now().Add(-time.Hour)}
	for i, o := range p.Orgs {
		if o.ID == "nhs-trust" {
			p.Orgs[i] = &lapsed
		}
	}
	ns := narrowings(p, map[string]Suspension{"surrey-cc": {Reason: "incident 42"}}, time.Now())
	folded := policy.Fold(p, ns)
	if folded.Org("surrey-cc").State != rules.StateSuspended || folded.Org("nhs-trust").State != rules.StateSuspended ||
		folded.Org("surrey-police").State != rules.StateActive {
		t.Error("fold did not suspend exactly surrey-cc and the lapsed nhs-trust")
	}
	if narrowed := narrowedWhy(ns); narrowed["surrey-cc"] != "incident 42" || narrowed["nhs-trust"] != reasonCertificateExpired || len(narrowed) != 2 {
		t.Errorf("narrowed = %v", narrowed)
	}
	if p.Org("surrey-cc").State != rules.StateActive {
		t.Error("fold changed the policy it was given")
	}
}
