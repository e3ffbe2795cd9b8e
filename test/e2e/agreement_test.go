package e2e

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestAgreementCarriesRealTraffic: the example policy's safeguarding
// agreement lets the police host reach Surrey's social care system on the
// surrey host, through the gateway; revoking it on Surrey's side alone
// stops new connections and cuts the open one.
func TestAgreementCarriesRealTraffic(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and BPF")
	}
	a := rulesVariant(t, nil)
	g := startLabRules(t, a, "", "watch_rules: false\ncompliance_check: 1s\n")
	police, surrey := g.gw.Orgs["police"].NS, g.gw.Orgs["surrey"].NS
	// Organisation hosts route only to the service networks; add the way
	// between these two.
	if err := police.Route("198.18.1.10/32", "198.18.3.1"); err != nil {
		t.Fatal(err)
	}
	if err := surrey.Route("198.18.3.10/32", "198.18.1.1"); err != nil {
		t.Fatal(err)
	}
	care := probe("police", "tcp", "198.18.3.10", "198.18.1.10:8080", true)
	mustTry(t, g, care)
	mustTry(t, g, probe("police", "tcp", "198.18.3.10", "198.18.1.10:22", false))
	open := dialIn(t, police, "tcp", "198.18.3.10", "198.18.1.10:8080")
	if err := echo(open, 3*time.Second); err != nil {
		t.Fatalf("agreement connection: %v", err)
	}

	revoked := rulesVariant(t, map[string][2]string{"organisations/surrey-cc.yaml": {"agreements:", "agreements_revoked_by_surrey:"}})
	os.WriteFile(revoked+"/organisations/surrey-cc.yaml", []byte(strings.SplitN(readFile(t, revoked+"/organisations/surrey-cc.yaml"), "agreements_revoked_by_surrey:", 2)[0]), 0o644)
	plan := g.cli(t, "plan", revoked)
	if !strings.Contains(plan, "- flows surrey-police -> 198.18.1.10/32 8080/tcp: allow by surrey-police/safeguarding-2026.surrey-social-care => drop") {
		t.Errorf("plan of the revocation:\n%s", plan)
	}
	g.cli(t, "apply", revoked)
	if err := echo(open, time.Second); err == nil {
		t.Error("the open agreement connection survived the revocation")
	}
	care.Allow = false
	mustTry(t, g, care)

	// An agreement running out under a running agent stops its flows too.
	soon := time.Now().Add(6 * time.Second).UTC().Format(time.RFC3339)
	expiring := rulesVariant(t, map[string][2]string{"organisations/surrey-cc.yaml": {"expires: 2027-03-31", "expires: " + soon}})
	g.cli(t, "apply", expiring)
	care.Allow = true
	mustTry(t, g, care)
	care.Allow = false
	if !eventually(20*time.Second, func() bool { return tryOK(g, care) }) {
		t.Fatal("the agreement's flows still pass after it expired")
	}
	if r := g.lastAudit(t); !strings.Contains(string(mustJSON(r["detail"])), "agreement-expired") {
		t.Errorf("last audit record = %v", r)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
