package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/pkg/rules"
)

// TestNarrowIsWhatTheAgentHolds: a narrowing changes the state digest and
// not the policy digest, equals compiling the folded rules, lifts back to
// the policy digest exactly, and leaves the rule file's own suspensions.
func TestNarrowIsWhatTheAgentHolds(t *testing.T) {
	p, c := examplePolicy(t)
	now := time.Now()
	p.Orgs[orgAt(t, p, "mole-valley-dc")].Certificate = &rules.Certificate{Expires: now.Add(-time.Hour)}
	c = Compile(p)
	suspended := map[string]Narrowing{
		"surrey-cc":    {Reason: "patching lapsed", By: "root", Since: now},
		"elmbridge-bc": {Reason: "suspended in its file already"},
		"nobody":       {Reason: "not in the policy"},
	}
	ns := Narrowings(p, suspended, now)
	if len(ns) != 2 || ns[0].Org != "mole-valley-dc" || ns[0].Cause != CauseCertificateExpired ||
		ns[1].Org != "surrey-cc" || ns[1].Cause != CauseSuspended || ns[1].By != "root" {
		t.Fatalf("narrowings = %+v", ns)
	}
	n := c.Narrow(ns)
	if n.PolicyDigest != c.Digest || n.Digest == c.Digest {
		t.Errorf("narrowed: policy digest %s (want %s), state digest %s", n.PolicyDigest, c.Digest, n.Digest)
	}
	if folded := Compile(Fold(p, ns)); folded.Digest != n.Digest {
		t.Errorf("compiling the folded rules gives %s, narrowing the compile %s", folded.Digest, n.Digest)
	}
	if back := n.Narrow(nil); back.Digest != c.Digest || len(back.Narrowed) != 0 {
		t.Errorf("lifting every narrowing gives %s, want the policy digest %s", back.Digest, c.Digest)
	}
	if one := n.Narrow(ns[1:]); one.Digest != c.Narrow(ns[1:]).Digest || one.Orgs[orgAt(t, p, "mole-valley-dc")].Suspended {
		t.Error("re-narrowing a narrowed policy does not replace its narrowing")
	}
	if !n.Orgs[orgAt(t, p, "elmbridge-bc")].Suspended || !n.Narrow(nil).Orgs[orgAt(t, p, "elmbridge-bc")].Suspended {
		t.Error("a suspension in the rule file was lifted")
	}
	if bogus := c.Narrow([]Narrowing{{Org: "elmbridge-bc", Cause: CauseSuspended}}); len(bogus.Narrowed) != 0 {
		t.Errorf("an organisation its file suspends counted as narrowed: %+v", bogus.Narrowed)
	}
}

// TestExplainNamesTheNarrowing: a narrowed organisation's refusal says who
// suspended it and why, or when its certificate expired, and what its own
// rules would do once restored.
func TestExplainNamesTheNarrowing(t *testing.T) {
	p, c := examplePolicy(t)
	since := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	n := c.Narrow([]Narrowing{
		{Org: "surrey-cc", Cause: CauseSuspended, Reason: "patching lapsed", By: "root", Since: since},
		{Org: "mole-valley-dc", Cause: CauseCertificateExpired, Since: since},
	})
	for _, tc := range []struct{ from, to, verdict, want string }{
		{"198.18.1.10@org0", "198.19.10.10:443/tcp", "drop",
			"surrey-cc is suspended with `palisade org suspend` by root at 2026-03-01T09:00:00Z (\"patching lapsed\") and keeps only the remediation services; none allows this; its own rule surrey-cc/dwp-benefits would allow it once restored"},
		{"198.18.2.10@org0", "198.19.10.10:443/tcp", "drop",
			"mole-valley-dc is narrowed to remediation: its compliance certificate expired at 2026-03-01T09:00:00Z"},
		{"198.18.1.10@org0", "198.19.20.10:443/tcp", "allow", "surrey-cc is suspended with `palisade org suspend`"},
		{"198.18.5.10@org1.200", "198.19.10.10:443/tcp", "drop", "elmbridge-bc is suspended in its rule file"},
		{"198.18.3.10@org1", "198.18.1.10:8080/tcp", "allow", "data-sharing agreement safeguarding-2026 with surrey-cc allows it until 2027-"},
	} {
		f, _ := rules.ParseFlow(tc.from, tc.to)
		e := n.Explain(f)
		if e.Verdict != tc.verdict || !strings.Contains(e.Why, tc.want) || e.PolicyDigest != c.Digest || e.StateDigest != n.Digest {
			t.Errorf("%s: %s, why %q\nwant %q", f, e.Verdict, e.Why, tc.want)
		}
		if narrowed := tc.from != "198.18.5.10@org1.200" && tc.from != "198.18.3.10@org1"; narrowed != (e.Narrowing != nil) {
			t.Errorf("%s: narrowing %+v", f, e.Narrowing)
		}
	}
	if r := CheckCase(p.Tests[0], n.Explain(p.Tests[0].Flow)); r.Pass || !strings.Contains(r.Failure, "patching lapsed") {
		t.Errorf("a case of a suspended organisation: %+v", r)
	}
}

func orgAt(t *testing.T, p *rules.Policy, id string) int {
	t.Helper()
	for i, o := range p.Orgs {
		if o.ID == id {
			return i
		}
	}
	t.Fatalf("no organisation %s", id)
	return -1
}

// TestServiceSide: on an attached interface no organisation comes in on,
// a first packet is no_flow, as the datapath counts it; offline (no host
// known) and tagged, it is unknown_ingress.
func TestServiceSide(t *testing.T) {
	_, c := examplePolicy(t)
	c.Attach([]string{"org0", "org1", "svc0", "svc1"})
	if len(c.ServiceSide) != 2 || c.Narrow(nil).ServiceSide[1] != "svc1" {
		t.Fatalf("service side = %v", c.ServiceSide)
	}
	for _, tc := range []struct{ from, reason string }{
		{"198.19.10.10@svc0", ReasonNoFlow}, {"198.19.10.10@svc0.7", ReasonUnknownIngress}, {"198.19.10.10@org9", ReasonUnknownIngress},
	} {
		f, _ := rules.ParseFlow(tc.from, "198.18.1.10:443/tcp")
		if e := c.Explain(f); e.Reason != tc.reason || e.Verdict != "drop" {
			t.Errorf("%s: %s (%s)", f, e.Reason, e.Why)
		}
	}
	_, offline := examplePolicy(t)
	f, _ := rules.ParseFlow("198.19.10.10@svc0", "198.18.1.10:443/tcp")
	if e := offline.Explain(f); e.Reason != ReasonUnknownIngress {
		t.Errorf("offline: %s", e.Reason)
	}
}
