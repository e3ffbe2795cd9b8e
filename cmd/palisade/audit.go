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
	var file string
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit log of applies, suspensions and restorations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			recs, err := auditRecords(g, file)
			if err != nil {
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
			v, err := auditVerify(g, file)
			if err != nil {
				return err
			}
			if g.output == "json" {
				writeJSON(g, v)
			} else if v.OK && file != "" {
				fmt.Fprintf(g.out, "ok: %d records, chain intact (only the agent can tell whether records were cut off the end)\n", v.Records)
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
	cmd.PersistentFlags().StringVar(&file, "file", "", "read this audit log directly instead of asking the agent (chain check only)")
	return cmd
}

func auditRecords(g *globals, file string) ([]audit.Record, error) {
	if file != "" {
		return audit.Read(file)
	}
	var recs []audit.Record
	err := control.NewClient(g.socket).Get("/v1/audit", &recs)
	return recs, err
}

// auditVerify asks the agent, which also knows where the log should end;
// with --file only the chain itself can be checked.
func auditVerify(g *globals, file string) (agent.AuditVerdict, error) {
	var v agent.AuditVerdict
	if file == "" {
		err := control.NewClient(g.socket).Get("/v1/audit/verify", &v)
		return v, err
	}
	n, err := audit.Verify(file)
	v.Records, v.OK = n, err == nil
	if err != nil {
		v.Error = err.Error()
	}
	return v, nil
}
