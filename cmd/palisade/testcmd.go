package main

import (
	"fmt"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
	"github.com/spf13/cobra"
)

type testReport struct {
	Boundary control.Boundary `json:"boundary"`
	Dir      string           `json:"rules"` // where the cases are
	OK       bool             `json:"ok"`
	Passed   int              `json:"passed"`
	Failed   int              `json:"failed"`
	// ByState counts the failures the rules alone do not explain: the case
	// passes on DIR's rules as written, and fails for a suspension or a
	// lapsed certificate (runtime state).
	ByState int          `json:"failed_by_runtime_state"`
	Results []caseResult `json:"results"`
}

type caseResult struct {
	policy.CaseResult
	// ByState: passes on the rules as written; the runtime narrowing fails it.
	ByState bool `json:"fails_by_runtime_state,omitempty"`
}

func testCmd(g *globals) *cobra.Command {
	var off bool
	cmd := &cobra.Command{
		Use:   "test DIR [--offline]",
		Short: "Run the expectation cases (tests: files) written beside the rules in DIR",
		Long: `Run the expectation cases (tests: files) written beside the rules in DIR.

With palisaded running, each case is decided by the running boundary: the
policy in force with the suspensions and lapsed certificates the datapath
holds, so a suspended organisation's cases fail, marked as failing by the
runtime state. With --offline (as a check of a commit before it is applied),
or when no agent runs, the cases are decided by the rules in DIR as a
gateway with no suspensions of its own would enforce them now.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := askedFor(args, off)
			if err != nil {
				return err
			}
			if len(a.rules.Tests) == 0 {
				return fmt.Errorf("no test cases in %s (write a file with a top-level tests: list)", a.dir)
			}
			r, err := runTests(g, a)
			if err != nil {
				return err
			}
			if g.output == "json" {
				writeJSON(g, r)
			} else {
				printTests(g, r)
			}
			if !r.OK {
				return errSilent
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&off, "offline", false, "decide the cases with the rules in DIR alone, not the running boundary")
	return cmd
}

// runTests decides every case where asked, and checks the failures against
// the rules as written: one that passes there fails by the runtime state.
func runTests(g *globals, a asked) (testReport, error) {
	cases := a.rules.Tests
	flows := make([]rules.Flow, len(cases))
	for i, tc := range cases {
		flows[i] = tc.Flow
	}
	b, es, err := explainFlows(g, a, flows)
	if err != nil {
		return testReport{}, err
	}
	written := policy.Compile(a.rules)
	r := testReport{Boundary: b, Dir: a.dir, Results: make([]caseResult, 0, len(cases))}
	for i, tc := range cases {
		c := caseResult{CaseResult: policy.CheckCase(tc, es[i])}
		if c.Pass {
			r.Passed++
		} else {
			r.Failed++
			c.ByState = policy.CheckCase(tc, written.Explain(tc.Flow)).Pass
		}
		if c.ByState {
			r.ByState++
		}
		r.Results = append(r.Results, c)
	}
	r.OK = r.Failed == 0
	return r, nil
}

func printTests(g *globals, r testReport) {
	printBoundary(g.out, r.Boundary)
	for _, c := range r.Results {
		if c.Pass {
			continue
		}
		fmt.Fprintf(g.out, "%s: FAIL %s: %s", c.At, c.Flow, c.Failure)
		if c.ByState {
			fmt.Fprintf(g.out, " [runtime state: passes on the rules in %s as written]", r.Dir)
		}
		fmt.Fprintln(g.out)
	}
	fmt.Fprintf(g.out, "%d passed, %d failed", r.Passed, r.Failed)
	if r.ByState > 0 {
		fmt.Fprintf(g.out, " (%d of them only by the runtime state: the rules alone pass them)", r.ByState)
	}
	fmt.Fprintln(g.out)
}
