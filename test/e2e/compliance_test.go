package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCertificateExpiryAndWatchedRules: a compliance certificate lapsing
// while the agent runs narrows the organisation by itself (audited and
// counted); edits to the watched rules directory are applied, and a broken
// edit is refused, audited and counted while the running policy stays.
func TestCertificateExpiryAndWatchedRules(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and BPF")
	}
	expires := time.Now().Add(8 * time.Second).UTC().Format(time.RFC3339)
	dir := rulesVariant(t, map[string][2]string{
		"organisations/mole-valley-dc.yaml": {"state: active\n", "state: active\ncertificate: {expires: " + expires + "}\n"},
	})
	g := startLabRules(t, dir, "127.0.0.1:9469", "compliance_check: 1s\n")
	mole := probe("surrey", "tcp", "198.18.2.10", "198.19.10.10:443", true)
	mustTry(t, g, mole)
	mole.Allow = false
	if !eventually(20*time.Second, func() bool { return g.try(mole) }) {
		t.Fatal("mole-valley-dc still reaches dwp-benefits after its certificate lapsed")
	}
	mustTry(t, g, probe("surrey", "tcp", "198.18.2.10", "198.19.20.10:443", true)) // remediation stays
	last := g.auditRecords(t)
	if r := last[len(last)-1]; r["action"] != "suspend" || r["subject"] != "mole-valley-dc" || !strings.Contains(string(mustJSON(r["detail"])), "certificate-expired") {
		t.Errorf("last audit record = %v", r)
	}
	if out, err := g.agent.CLI("org", "restore", "mole-valley-dc"); err == nil || !strings.Contains(out, "certificate expired") {
		t.Errorf("restore with a lapsed certificate: err %v, %s", err, out)
	}

	// The watched directory: lift elmbridge's suspension in its file.
	before := g.digest(t)
	elm := filepath.Join(dir, "organisations", "elmbridge-bc.yaml")
	b, _ := os.ReadFile(elm)
	os.WriteFile(elm, []byte(strings.Replace(string(b), "state: suspended", "state: active", 1)), 0o644)
	if !eventually(20*time.Second, func() bool { return g.digest(t) != before }) {
		t.Fatal("an edit of the watched rules directory was not applied")
	}
	mustTry(t, g, probe("elmbridge", "tcp", "198.18.5.10", "198.19.10.10:443", true))

	applied, state := g.digests(t)[0], g.digests(t)[1]
	os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("organisation: x\nname: X\n"), 0o644)
	if !eventually(20*time.Second, func() bool { return g.lastAudit(t)["result"] == "refused" }) {
		t.Fatal("a broken edit of the watched directory was not refused in the audit log")
	}
	if g.digest(t) != applied {
		t.Error("a broken edit changed the running policy")
	}
	m := g.metrics(t)
	for _, want := range []string{`palisade_policy_changes_total{action="apply",result="refused"} 1`,
		`palisade_policy_changes_total{action="certificate-expired",result="ok"} 1`, `policy_digest="` + applied + `",state_digest="` + state + `"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func (g *gatewayLab) try(c scenarioCheck) bool { return tryOK(g, c) }

func (g *gatewayLab) lastAudit(t *testing.T) map[string]any {
	recs := g.auditRecords(t)
	if len(recs) == 0 {
		return nil
	}
	return recs[len(recs)-1]
}

func (g *gatewayLab) metrics(t *testing.T) string {
	t.Helper()
	body, err := g.gw.GW.HTTPGet("127.0.0.1:9469", "/metrics", 10*time.Second)
	if err != nil {
		t.Fatalf("scrape metrics: %v", err)
	}
	return body
}

// eventually polls cond every 200ms until it holds or the time is up.
func eventually(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return cond()
}
