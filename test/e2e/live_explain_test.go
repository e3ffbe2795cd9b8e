package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/pkg/flows"
)

// TestExplainTestAndDigestsOfTheRunningBoundary is issue 19 as an operator
// meets it, with the real agent and CLI in the lab: explain, test and plan
// answer for the running boundary (a suspension made with `palisade org
// suspend`, a lapsed certificate) and say so, --offline answers for the
// directory; validate's digest is status's policy digest; the state
// digest moves on suspend and comes back on restore, in status, /metrics,
// the flow log and the audit log.
func TestExplainTestAndDigestsOfTheRunningBoundary(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and BPF")
	}
	dir := rulesVariant(t, map[string][2]string{
		"organisations/mole-valley-dc.yaml": {"state: active\n", "state: active\ncertificate: {expires: 2026-01-01}\n"},
	})
	g := startLabRules(t, dir, "127.0.0.1:9469", "watch_rules: false\n")

	// validate's digest is the policy digest; the lapse is in the state's.
	validated := regexp.MustCompile(`policy digest ([0-9a-f]{64})`).FindStringSubmatch(g.cli(t, "validate", dir))
	lapsed := g.digests(t)
	if validated == nil || validated[1] != lapsed[0] || lapsed[1] == lapsed[0] {
		t.Fatalf("validate's digest %v, status's policy and state digests %v", validated, lapsed)
	}
	status := g.cli(t, "status")
	for _, want := range []string{"policy digest  " + lapsed[0], "state digest   " + lapsed[1] + "  1 organisation narrowed to remediation at runtime",
		"narrowed       mole-valley-dc  its compliance certificate expired at 2026-01-02T00:00:00Z"} {
		if !strings.Contains(squeezeSpaces(status), squeezeSpaces(want)) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}

	// A lapsed certificate: explain says refused, and why; so does the datapath.
	mole := []string{"explain", "--from", "198.18.2.10@org0", "--to", "198.19.10.10:443/tcp"}
	out := g.cli(t, mole...)
	for _, want := range []string{"answering for the running boundary: policy digest " + lapsed[0][:16] + ", state digest " + lapsed[1][:16],
		"  mole-valley-dc: its compliance certificate expired at 2026-01-02T00:00:00Z", "verdict       drop", "drop reason   suspended",
		"why           mole-valley-dc is narrowed to remediation: its compliance certificate expired"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain of a lapsed organisation lacks %q:\n%s", want, out)
		}
	}
	mustTry(t, g, probe("surrey", "tcp", "198.18.2.10", "198.19.10.10:443", false))

	// A suspension: explain names it; --offline answers for the directory.
	surrey := []string{"explain", dir, "--from", "198.18.1.10@org0", "--to", "198.19.10.10:443/tcp"}
	if out := g.cli(t, surrey...); !strings.Contains(out, "verdict       allow") {
		t.Fatalf("before the suspension:\n%s", out)
	}
	g.cli(t, "org", "suspend", "surrey-cc", "--reason", "patching lapsed")
	suspended := g.digests(t)
	if suspended[0] != lapsed[0] || suspended[1] == lapsed[1] {
		t.Errorf("suspend: digests %v -> %v; want the policy digest kept and the state digest moved", lapsed, suspended)
	}
	out = g.cli(t, surrey...)
	for _, want := range []string{"answering for the running boundary", "2 organisations narrowed to remediation",
		"  surrey-cc: suspended with `palisade org suspend` by root at ", `("patching lapsed")`, "verdict       drop",
		"its own rule surrey-cc/dwp-benefits would allow it once restored"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain of a suspended organisation lacks %q:\n%s", want, out)
		}
	}
	t.Logf("palisade %s\n%s", strings.Join(surrey, " "), out)
	mustTry(t, g, probe("surrey", "tcp", "198.18.1.10", "198.19.10.10:443", false))
	out = g.cli(t, append(surrey, "--offline")...)
	if !strings.Contains(out, "answering offline for the rules in "+dir+" (asked with --offline)") || !strings.Contains(out, "verdict       allow") {
		t.Errorf("explain --offline:\n%s", out)
	}

	// test: the suspended organisation's cases fail, marked as the running
	// state's; offline only the lapse (in the rules) fails one.
	out, err := g.agent.CLI("test", dir)
	surreyCase := regexp.MustCompile(`tests.yaml:\d+:\d+: FAIL 198.18.1.10@org0 -> 198.19.10.10:443/tcp: expected allow, got drop \(suspended: surrey-cc is suspended with .palisade org suspend. by root .*\) \[runtime state: passes on the rules in ` + regexp.QuoteMeta(dir) + ` as written\]`)
	if err == nil || !strings.HasPrefix(out, "answering for the running boundary") || !surreyCase.MatchString(out) ||
		!regexp.MustCompile(`\d+ passed, 7 failed \(7 of them only by the runtime state: the rules alone pass them\)`).MatchString(out) {
		t.Errorf("test against the running boundary: err %v\n%s", err, out)
	}
	t.Logf("palisade test %s\n%s", dir, out)
	out, err = g.agent.CLI("test", dir, "--offline")
	if err == nil || !strings.Contains(out, "FAIL 198.18.2.10@org0 -> 198.19.10.10:443/tcp") || !strings.Contains(out, " failed (1 of them only by the runtime state") {
		t.Errorf("test --offline: err %v\n%s", err, out)
	}

	// plan names the state it plans against; the directory in force is no change.
	if out := g.cli(t, "plan", dir); !strings.HasPrefix(out, "answering for the running boundary") ||
		!strings.Contains(out, "no changes: policy digest "+lapsed[0]+", state digest "+suspended[1]) {
		t.Errorf("plan of the rules in force:\n%s", out)
	}

	// Both digests in /metrics, the flow log and the audit log.
	m := g.metrics(t)
	if !strings.Contains(m, `policy_digest="`+suspended[0]+`",state_digest="`+suspended[1]+`"} 1`) {
		t.Errorf("metrics lack palisade_policy_info with both digests %v:\n%s", suspended, grepLines(m, "palisade_policy_info"))
	}
	if !eventually(10*time.Second, func() bool { return flowLogHas(t, g, suspended) }) {
		t.Errorf("no flow-log record carries policy digest %s and state digest %s", suspended[0][:16], suspended[1][:16])
	}
	rec := g.lastAudit(t)
	if rec["action"] != "suspend" || rec["policy_digest"] != suspended[0] || rec["state_digest"] != suspended[1] {
		t.Errorf("the suspension's audit record: %v", rec)
	}

	// Restore: the state digest comes back.
	g.cli(t, "org", "restore", "surrey-cc")
	if d := g.digests(t); d != lapsed {
		t.Errorf("restore: digests %v, want %v back", d, lapsed)
	}
	if rec := g.lastAudit(t); rec["action"] != "restore" || rec["state_digest"] != lapsed[1] {
		t.Errorf("the restoration's audit record: %v", rec)
	}
	if out := g.cli(t, surrey...); !strings.Contains(out, "verdict       allow") || !strings.Contains(out, "1 organisation narrowed") {
		t.Errorf("after restore:\n%s", out)
	}
}

// flowLogHas reports whether a flow-log line carries both digests.
func flowLogHas(t *testing.T, g *gatewayLab, d [2]string) bool {
	f, err := os.Open(filepath.Join(filepath.Dir(g.agent.CfgPath), "flows.json"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r flows.Record
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.PolicyDigest == d[0] && r.StateDigest == d[1] {
			return true
		}
	}
	return false
}

func grepLines(s, what string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, what) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

var spaces = regexp.MustCompile(`[ \t]+`)

func squeezeSpaces(s string) string { return spaces.ReplaceAllString(s, " ") }
