package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
	"github.com/spf13/cobra"
)

// certificateWarnAhead is how long before a compliance certificate lapses
// validate starts warning about it.
const certificateWarnAhead = 30 * 24 * time.Hour

type validateReport struct {
	OK            bool     `json:"ok"`
	Errors        []string `json:"errors"`
	Warnings      []string `json:"warnings"`
	Organisations int      `json:"organisations"`
	Rules         int      `json:"rules"`
	Digest        string   `json:"digest,omitempty"`
}

func validateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate DIR",
		Short: "Check a rules directory; every problem as file:line:col: message",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r := validate(args[0])
			if g.output == "json" {
				enc := json.NewEncoder(g.out)
				enc.SetIndent("", "  ")
				enc.Encode(r)
			} else {
				printValidate(g, r)
			}
			if !r.OK {
				return errSilent
			}
			return nil
		},
	}
}

func validate(dir string) validateReport {
	r := validateReport{Errors: []string{}, Warnings: []string{}}
	p, err := rules.Load(dir)
	var list rules.ErrorList
	switch {
	case errors.As(err, &list):
		for _, e := range list {
			r.Errors = append(r.Errors, e.Error())
		}
		return r
	case err != nil:
		r.Errors = append(r.Errors, err.Error())
		return r
	}
	for _, w := range p.Warnings {
		r.Warnings = append(r.Warnings, w.Error())
	}
	for _, w := range rules.CertificateWarnings(p, time.Now(), certificateWarnAhead) {
		r.Warnings = append(r.Warnings, w.Error())
	}
	c := policy.Compile(p)
	r.OK, r.Organisations, r.Rules, r.Digest = true, len(c.Orgs), len(c.Rules), c.Digest
	return r
}

func printValidate(g *globals, r validateReport) {
	for _, e := range r.Errors {
		fmt.Fprintln(g.out, e)
	}
	for _, w := range r.Warnings {
		fmt.Fprintln(g.out, "warning:", w)
	}
	if r.OK {
		fmt.Fprintf(g.out, "ok: %d organisations, %d rules, policy digest %s\n", r.Organisations, r.Rules, r.Digest)
	} else {
		fmt.Fprintf(g.out, "%d error(s): rules refused\n", len(r.Errors))
	}
}
