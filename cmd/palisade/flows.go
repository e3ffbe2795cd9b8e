package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"text/tabwriter"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/flows"
	"github.com/spf13/cobra"
)

func flowsCmd(g *globals) *cobra.Command {
	var f flows.Filter
	var follow bool
	var limit int
	var file string
	c := &cobra.Command{
		Use:   "flows",
		Short: "Show the flow log: flows started and ended, packets refused (--follow for new ones)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{"org": {f.Org}, "verdict": {f.Verdict}, "limit": {strconv.Itoa(limit)}}
			if file != "" && follow {
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
				defer stop()
				return tailFile(ctx, g, file, f)
			}
			if file != "" {
				return flowsFromFile(g, file, f, limit)
			}
			if follow {
				return followFlows(g, q)
			}
			var recs []flows.Record
			if err := control.NewClient(g.socket).Get("/v1/flows?"+q.Encode(), &recs); err != nil {
				return err
			}
			return printFlows(g, recs)
		},
	}
	c.Flags().StringVar(&f.Org, "org", "", "only this organisation")
	c.Flags().StringVar(&f.Verdict, "verdict", "", "only this verdict: allow, inspect, deny (drop)")
	c.Flags().BoolVarP(&follow, "follow", "f", false, "stream new records until interrupted")
	c.Flags().IntVar(&limit, "limit", 100, "the most recent N records")
	c.Flags().StringVar(&file, "file", "", "read (or with --follow, tail) this flow log file instead of asking the agent")
	return c
}

// followFlows streams records from the agent until Ctrl-C.
func followFlows(g *globals, q url.Values) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	body, err := control.NewClient(g.socket).Stream(ctx, "/v1/flows/follow?"+q.Encode())
	if err != nil {
		return err
	}
	defer body.Close()
	sc := bufio.NewScanner(body)
	w := flowTable(g.out)
	for sc.Scan() {
		if g.output == "json" {
			fmt.Fprintln(g.out, sc.Text())
			continue
		}
		var r flows.Record
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			printFlow(w, &r)
			w.Flush()
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}

// printFlows prints records as JSON or as a table, as -o asks.
func printFlows(g *globals, recs []flows.Record) error {
	if g.output == "json" {
		return printJSON(g, recs)
	}
	w := flowTable(g.out)
	for i := range recs {
		printFlow(w, &recs[i])
	}
	return w.Flush()
}

func flowTable(out io.Writer) *tabwriter.Writer {
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TIME\tEVENT\tORGANISATION\tSOURCE\tDESTINATION\tPROTO\tVERDICT\tRULE/REASON\tPACKETS\tBYTES")
	return w
}

func printFlow(w io.Writer, r *flows.Record) {
	ev, why := r.EventType, r.RuleID
	if r.Event != "" {
		ev += " " + r.Event
	}
	if r.DropReason != "" {
		why = r.DropReason
	}
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", r.Timestamp, ev, orDash(r.Org),
		hostPort(r.SrcIP, r.SrcPort), hostPort(r.DestIP, r.DestPort), r.Proto, r.Verdict, orDash(why),
		r.Packets+r.PacketsRev, r.Bytes+r.BytesRev)
}

func hostPort(ip string, port uint16) string { return net.JoinHostPort(ip, strconv.Itoa(int(port))) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printJSON(g *globals, v any) error {
	enc := json.NewEncoder(g.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
