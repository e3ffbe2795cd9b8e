package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/scenario"
)

// TestPolicyLifecycle drives plan, apply (refused and accepted), flow
// cutting, suspend and restore across an agent restart, and the audit log,
// against the real agent in the standard lab.
func TestPolicyLifecycle(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and BPF")
	}
	a := rulesVariant(t, nil)
	g := startLabRules(t, a, "", "watch_rules: false\n")
	b := rulesVariant(t, policyB)
	bad := rulesVariant(t, map[string][2]string{"services.yaml": {"ports: [\"123/udp\"]", "ports: [\"123/udpp\"]"}})
	surrey, police := g.gw.Orgs["surrey"].NS, g.gw.Orgs["police"].NS

	plan := g.cli(t, "plan", b)
	for _, want := range []string{"+ rule surrey-police/ntp", "- rule surrey-police/pnc-udp",
		"- flows surrey-police -> 198.19.10.0/24 5000-5010/udp: allow by surrey-police/pnc-udp => drop",
		"+ flows surrey-police -> 198.19.20.123/32 123/udp: drop => allow by surrey-police/ntp"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}

	pnc := dialIn(t, police, "udp", "198.18.3.10", "198.19.10.10:5005")
	web := dialIn(t, surrey, "tcp", "198.18.1.10", "198.19.10.10:443")
	if err := echo(pnc, 3*time.Second); err != nil {
		t.Fatalf("pnc before apply: %v", err)
	}
	if err := echo(web, 3*time.Second); err != nil {
		t.Fatalf("web before apply: %v", err)
	}

	before := g.digest(t)
	out, err := g.agent.CLI("apply", bad)
	if err == nil || !strings.Contains(out, filepath.Join(bad, "services.yaml")+":") || g.digest(t) != before {
		t.Fatalf("invalid apply: err %v, digest %s -> %s, output:\n%s", err, before, g.digest(t), out)
	}

	out = g.cli(t, "apply", b)
	if !strings.Contains(out, "applied: policy digest") || !strings.Contains(out, "flows cut 1") {
		t.Errorf("apply output:\n%s", out)
	}
	if err := echo(pnc, time.Second); err == nil {
		t.Error("the PNC flow the new policy refuses still passes: not cut")
	}
	if err := echo(web, 3*time.Second); err != nil {
		t.Errorf("the benefits flow the new policy allows was cut: %v", err)
	}
	mustTry(t, g, probe("police", "udp", "198.18.3.10", "198.19.20.123:123", true))
	mustTry(t, g, probe("police", "udp", "198.18.3.10", "198.19.10.10:5005", false))

	// Suspend: new flows and the open one stop within a second, remediation stays.
	start := time.Now()
	g.cli(t, "org", "suspend", "surrey-cc", "--reason", "patching lapsed")
	took := time.Since(start)
	if err := echo(web, time.Second); err == nil {
		t.Error("suspended organisation's open flow still passes")
	}
	mustTry(t, g, probe("surrey", "tcp", "198.18.1.10", "198.19.10.10:443", false))
	mustTry(t, g, probe("surrey", "tcp", "198.18.1.10", "198.19.20.10:443", true))
	mustTry(t, g, probe("surrey", "tcp", "198.18.2.10", "198.19.10.10:443", true)) // mole valley untouched
	t.Logf("org suspend took %v end to end (CLI, API, one map write, flow cut)", took)

	// The suspension survives a restart and a later apply.
	if err := g.agent.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := g.agent.Start(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	g.cli(t, "apply", a)
	mustTry(t, g, probe("surrey", "tcp", "198.18.1.10", "198.19.10.10:443", false))
	g.cli(t, "org", "restore", "surrey-cc")
	mustTry(t, g, probe("surrey", "tcp", "198.18.1.10", "198.19.10.10:443", true))

	// SIGHUP applies the configured directory (here with watching off).
	before = g.digest(t)
	os.WriteFile(filepath.Join(a, "organisations", "nhs-trust.yaml"),
		[]byte(strings.Replace(readFile(t, filepath.Join(a, "organisations", "nhs-trust.yaml")), "  - service: psn-dns\n", "", 1)), 0o644)
	if err := g.agent.Reload(); err != nil {
		t.Fatal(err)
	}
	if !eventually(20*time.Second, func() bool { return g.digest(t) != before }) {
		t.Error("SIGHUP did not apply the changed rules directory")
	}

	unused := g.cli(t, "report", "unused", "--since", "1h")
	if !strings.Contains(unused, "surrey-cc/ntp") || strings.Contains(unused, "surrey-cc/dwp-benefits ") ||
		strings.Contains(unused, "surrey-police/ntp ") {
		t.Errorf("report unused:\n%s", unused)
	}
	checkAudit(t, g)
}

func mustTry(t *testing.T, g *gatewayLab, c scenario.Check) {
	t.Helper()
	if err := scenario.TryWithin(g.gw, c, 2*time.Second); (err == nil) != c.Allow {
		t.Errorf("%s: allow=%v, got err %v", c, c.Allow, err)
	}
}

// checkAudit expects every change above in the audit log, then shows that
// verify catches both an edited record and records cut off the end.
func checkAudit(t *testing.T, g *gatewayLab) {
	recs := g.auditRecords(t)
	var got []string
	for _, r := range recs {
		got = append(got, r["action"].(string)+":"+r["result"].(string)+":"+r["user"].(string))
	}
	want := "apply:ok:palisaded apply:refused:root apply:ok:root suspend:ok:root apply:ok:palisaded apply:ok:root restore:ok:root apply:ok:palisaded"
	if strings.Join(got, " ") != want {
		t.Errorf("audit = %s\nwant    %s", strings.Join(got, " "), want)
	}
	if out := g.cli(t, "audit", "verify"); !strings.HasPrefix(out, "ok: 8 records") {
		t.Errorf("audit verify: %s", out)
	}
	log := filepath.Join(filepath.Dir(g.agent.CfgPath), "audit.log")
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
	os.WriteFile(log, []byte(strings.Join(lines[:len(lines)-1], "")), 0o640)
	if out, err := g.agent.CLI("audit", "verify"); err == nil || !strings.Contains(out, "cut off the end") {
		t.Errorf("truncated log: err %v, output %s", err, out)
	}
	os.WriteFile(log, []byte(strings.Replace(string(b), "patching lapsed", "patching lapsee", 1)), 0o640)
	if out, err := g.agent.CLI("audit", "verify"); err == nil || !strings.Contains(out, "was edited") {
		t.Errorf("edited log: err %v, output %s", err, out)
	}
}
