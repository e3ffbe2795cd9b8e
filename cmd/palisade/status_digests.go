package main

import (
	"fmt"
	"io"

	"github.com/palisade-psn/palisade/pkg/control"
)

// printDigests shows the policy in force as two digests: the rules'
// (compare it with `palisade validate` and across the fleet) and the
// state's (with this gateway's suspensions and lapsed certificates).
func printDigests(w io.Writer, p control.PolicyStatus) {
	if p.PolicyDigest == "" {
		return // read from the pins: only the agent knows the rules
	}
	fmt.Fprintf(w, "policy digest\t%s\t%d organisations, %d rules: the rules' own, as `palisade validate` prints it\n",
		p.PolicyDigest, p.Organisations, p.Rules)
	switch n := len(p.Narrowed); n {
	case 0:
		fmt.Fprintf(w, "state digest\t%s\tnothing narrowed at runtime: the policy digest\n", p.StateDigest)
	default:
		fmt.Fprintf(w, "state digest\t%s\t%s narrowed to remediation at runtime\n", p.StateDigest, plural(n, "organisation"))
	}
	for _, n := range p.Narrowed {
		fmt.Fprintf(w, "narrowed\t%s\t%s\n", n.Org, n.String())
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
