package policy

import (
	"fmt"

	"github.com/palisade-psn/palisade/pkg/rules"
)

// CaseResult is the outcome of one expectation case.
type CaseResult struct {
	At      string      `json:"at"` // file:line:col of the case
	Flow    string      `json:"flow"`
	Expect  string      `json:"expect"`
	Got     Explanation `json:"got"`
	Pass    bool        `json:"pass"`
	Failure string      `json:"failure,omitempty"`
}

// RunCases decides every case with the compiled policy, in order.
func (c *Compiled) RunCases(cases []rules.TestCase) []CaseResult {
	out := make([]CaseResult, 0, len(cases))
	for _, tc := range cases {
		out = append(out, CheckCase(tc, c.Explain(tc.Flow)))
	}
	return out
}

// CheckCase holds one case's expectation against e, the explanation of its
// flow: by this package's Explain here, or by a running agent's.
func CheckCase(tc rules.TestCase, e Explanation) CaseResult {
	r := CaseResult{At: tc.Pos.String(), Flow: e.Flow, Expect: tc.Expect, Got: e, Pass: true}
	got := e.Verdict
	if got == Drop.String() {
		got = "deny"
	}
	switch {
	case got != tc.Expect:
		r.Failure = fmt.Sprintf("expected %s, got %s", tc.Expect, describeGot(e))
	case tc.Org != "" && tc.Org != e.Org:
		r.Failure = fmt.Sprintf("expected organisation %s, got %q", tc.Org, e.Org)
	case tc.Rule != "" && tc.Rule != e.Rule:
		r.Failure = fmt.Sprintf("expected rule %s, got %q (%s)", tc.Rule, e.Rule, e.Why)
	}
	if r.Failure != "" {
		r.Pass = false
		if tc.Why != "" {
			r.Failure += " (" + tc.Why + ")"
		}
	}
	return r
}

func describeGot(e Explanation) string {
	if e.Rule != "" {
		return fmt.Sprintf("%s by %s", e.Verdict, e.Rule)
	}
	return fmt.Sprintf("%s (%s: %s)", e.Verdict, e.Reason, e.Why)
}
