package policy

import (
	"strings"
	"testing"

	"github.com/palisade-psn/palisade/pkg/rules"
)

func examplePolicy(t *testing.T) (*rules.Policy, *Compiled) {
	t.Helper()
	p, err := rules.Load("../../rules")
	if err != nil {
		t.Fatal(err)
	}
	return p, Compile(p)
}

func TestExplain(t *testing.T) {
	_, c := examplePolicy(t)
	cases := []struct {
		from, to                       string
		verdict, org, rule, reason, in string
		why                            string
	}{
		{"198.18.1.10@org0", "198.19.10.10:443/tcp", "allow", "surrey-cc", "surrey-cc/dwp-benefits", "", "org0", "rule surrey-cc/dwp-benefits allows it"},
		{"198.18.1.10", "198.19.10.10:443/tcp", "allow", "surrey-cc", "surrey-cc/dwp-benefits", "", "org0", ""},
		{"198.18.4.10", "198.19.11.10:2575/tcp", "allow", "nhs-trust", "nhs-trust/health-spine", "", "org1.300", ""},
		{"2001:db8:1::10@org0", "2001:db8:10::10/icmp", "allow", "surrey-cc", "surrey-cc/ping-services", "", "org0", ""},
		{"198.18.1.10@org0", "198.19.10.10:22/tcp", "drop", "surrey-cc", "", "no_rule", "org0", "surrey-cc has no rule allowing tcp to 198.19.10.10:22"},
		{"198.18.5.10@org1.200", "198.19.10.10:443/tcp", "drop", "elmbridge-bc", "", "suspended", "org1.200", "suspended"},
		{"198.18.5.10@org1.200", "198.19.20.10:443/tcp", "allow", "elmbridge-bc", "remediation/patch-mirror", "", "org1.200", "remediation service patch-mirror"},
		{"198.18.1.99@org1", "198.19.10.10:443/tcp", "drop", "", "", "spoofed_source", "org1", "spoofed"},
		{"198.18.1.10@svc0", "198.19.10.10:443/tcp", "drop", "", "", "unknown_ingress", "svc0", "no organisation comes in on svc0"},
		{"198.18.99.1", "198.19.10.10:443/tcp", "drop", "", "", "unknown_ingress", "(none)", "registered to no organisation"},
	}
	for _, tc := range cases {
		f, err := rules.ParseFlow(tc.from, tc.to)
		if err != nil {
			t.Fatal(err)
		}
		e := c.Explain(f)
		if e.Verdict != tc.verdict || e.Org != tc.org || e.Rule != tc.rule || e.Reason != tc.reason || e.Ingress != tc.in {
			t.Errorf("%s: got %+v", f, e)
		}
		if !strings.Contains(e.Why, tc.why) || e.PolicyDigest != c.Digest || e.StateDigest != c.Digest {
			t.Errorf("%s: why %q, want it to contain %q", f, e.Why, tc.why)
		}
		if tc.rule != "" && !strings.Contains(e.At, "rules/") {
			t.Errorf("%s: rule position %q", f, e.At)
		}
	}
}

func TestExampleCasesPassAndFailuresSayWhere(t *testing.T) {
	p, c := examplePolicy(t)
	if len(p.Tests) < 10 {
		t.Fatalf("rules/ has %d test cases", len(p.Tests))
	}
	for _, r := range c.RunCases(p.Tests) {
		if !r.Pass {
			t.Errorf("%s: %s", r.At, r.Failure)
		}
	}
	bad := p.Tests[0]
	bad.Expect, bad.Why = "deny", "a broken expectation"
	r := c.RunCases([]rules.TestCase{bad})[0]
	if r.Pass || !strings.Contains(r.Failure, "expected deny, got allow by surrey-cc/dwp-benefits (a broken expectation)") ||
		!strings.HasSuffix(r.At, "rules/tests.yaml:7:6") {
		t.Errorf("failure = %+v", r)
	}
}
