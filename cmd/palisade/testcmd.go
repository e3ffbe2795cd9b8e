package main

import (
	"fmt"

	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
	"github.com/spf13/cobra"
)

type testReport struct {
	OK      bool                `json:"ok"`
	Passed  int                 `json:"passed"`
	Failed  int                 `json:"failed"`
	Results []policy.CaseResult `json:"results"`
}

func testCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "test DIR",
		Short: "Run the expectation cases (tests: files) written beside the rules in DIR",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := rules.Load(args[0])
			if err != nil {
				return fmt.Errorf("rules refused:\n%w", err)
			}
			if len(p.Tests) == 0 {
				return fmt.Errorf("no test cases in %s (write a file with a top-level tests: list)", args[0])
			}
			r := testReport{Results: policy.Compile(p).RunCases(p.Tests)}
			for _, c := range r.Results {
				if c.Pass {
					r.Passed++
				} else {
					r.Failed++
				}
			}
			r.OK = r.Failed == 0
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
}

func printTests(g *globals, r testReport) {
	for _, c := range r.Results {
		if !c.Pass {
			fmt.Fprintf(g.out, "%s: FAIL %s: %s\n", c.At, c.Flow, c.Failure)
		}
	}
	fmt.Fprintf(g.out, "%d passed, %d failed\n", r.Passed, r.Failed)
}
