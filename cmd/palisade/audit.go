package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/palisade-psn/palisade/pkg/agent"
	"github.com/palisade-psn/palisade/pkg/audit"
	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/spf13/cobra"
)

func auditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit log of applies, suspensions and restorations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var recs []audit.Record
			if err := control.NewClient(g.socket).Get("/v1/audit", &recs); err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(g, recs)
			}
			w := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
			defer w.Flush()
			fmt.Fprintln(w, "SEQ\tTIME\tUSER\tACTION\tSUBJECT\tRESULT\tDIGEST\tDETAIL")
			for _, r := range recs {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, r.Time.Format("2006-01-02T15:04:05Z"),
					r.User, r.Action, r.Subject, r.Result, short(r.Digest), r.Detail)
			}
			return nil
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chain, and that it ends where the agent last wrote",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var v agent.AuditVerdict
			if err := control.NewClient(g.socket).Get("/v1/audit/verify", &v); err != nil {
				return err
			}
			if g.output == "json" {
				writeJSON(g, v)
			} else if v.OK {
				fmt.Fprintf(g.out, "ok: %d records, chain intact, ends at the agent's last record %d\n", v.Records, v.Head.Seq)
			} else {
				fmt.Fprintf(g.out, "AUDIT LOG DAMAGED: %s\n", v.Error)
			}
			if !v.OK {
				return errSilent
			}
			return nil
		},
	})
	return cmd
}
