package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/palisade-psn/palisade/pkg/capture"
	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/spf13/cobra"
)

func captureCmd(g *globals) *cobra.Command {
	var req capture.Request
	var out string
	c := &cobra.Command{
		Use:   "capture --org ORG -w FILE",
		Short: "Record an organisation's packets as they cross the gateway, dropped ones included, into pcapng",
		Long: `Record an organisation's packets as they cross the gateway, dropped ones
included. Headers only (128 bytes) unless --full; bounded by --duration,
--packets and --bytes. Each packet carries org=, verdict= and reason= in
its pcapng comment. The file's SHA-256 is written to the audit log.
Subcommands start, list, stop and fetch drive captures through the agent.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("-w FILE is required")
			}
			return captureAndFetch(g, req, out)
		},
	}
	requestFlags(c, &req)
	c.Flags().StringVarP(&out, "write", "w", "", "file to write the capture to")
	for _, sub := range []func(*globals) *cobra.Command{captureStartCmd, captureListCmd, captureStopCmd, captureFetchCmd} {
		c.AddCommand(sub(g))
	}
	return c
}

func requestFlags(c *cobra.Command, req *capture.Request) {
	c.Flags().StringVar(&req.Org, "org", "", "organisation to capture (required)")
	c.Flags().StringVar(&req.Filter, "filter", "", "tcpdump-style filter: host, net, port, portrange, tcp, udp, icmp, icmp6, ip, ip6, and, or, not")
	c.Flags().DurationVar(&req.Duration, "duration", capture.DefaultDuration, "stop after this long")
	c.Flags().IntVar(&req.Packets, "packets", capture.DefaultPackets, "stop after this many packets")
	c.Flags().Int64Var(&req.Bytes, "bytes", capture.DefaultBytes, "stop when the file reaches this size")
	c.Flags().BoolVar(&req.Full, "full", false, "record whole packets (payload is official data: default is headers only)")
	c.Flags().StringVar(&req.Format, "format", "pcapng", "pcapng, or pcap for old tools (no comments)")
}

// captureAndFetch starts a capture, waits for it to end (Ctrl-C stops it
// early), then downloads the file and checks its SHA-256.
func captureAndFetch(g *globals, req capture.Request, out string) error {
	cl := control.NewClient(g.socket)
	var info capture.Info
	if err := cl.Post("/v1/captures", req, &info); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	deadline := time.Now().Add(info.Request.Duration + time.Minute)
	for info.State == "running" && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			if err := cl.Post("/v1/captures/"+info.ID+"/stop", nil, &info); err != nil {
				return err
			}
		case <-time.After(200 * time.Millisecond):
			if err := cl.Get("/v1/captures/"+info.ID, &info); err != nil {
				return err
			}
		}
	}
	if info.State == "running" {
		return fmt.Errorf("capture %s still running after its bounds; stop it with palisade capture stop %s", info.ID, info.ID)
	}
	if err := fetch(g, info, out); err != nil {
		return err
	}
	return reportCapture(g, info, out)
}

// fetch downloads a finished capture and checks it is the file recorded.
func fetch(g *globals, info capture.Info, out string) error {
	if info.State == "failed" {
		return fmt.Errorf("capture %s failed: %s", info.ID, info.Error)
	}
	body, err := control.NewClient(g.socket).Stream(context.Background(), "/v1/captures/"+info.ID+"/file")
	if err != nil {
		return err
	}
	defer body.Close()
	tmp, err := os.CreateTemp(filepath.Dir(out), ".capture-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), body)
	if err = errors.Join(err, tmp.Close()); err != nil {
		return fmt.Errorf("download capture: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != info.SHA256 {
		return fmt.Errorf("capture %s: downloaded SHA-256 %s is not the recorded %s", info.ID, got, info.SHA256)
	}
	return os.Rename(tmp.Name(), out)
}

func reportCapture(g *globals, info capture.Info, out string) error {
	if g.output == "json" {
		return printJSON(g, info)
	}
	fmt.Fprintf(g.out, "capture %s of %s: %d packets (%d seen, %d lost), stopped by %s\nwrote %s  sha256 %s\n",
		info.ID, info.Request.Org, info.Packets, info.Seen, info.Lost, info.Stopped, out, info.SHA256)
	return nil
}

func captureStartCmd(g *globals) *cobra.Command {
	var req capture.Request
	c := &cobra.Command{
		Use:   "start --org ORG",
		Short: "Start a capture in the agent and return; fetch it later",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var info capture.Info
			if err := control.NewClient(g.socket).Post("/v1/captures", req, &info); err != nil {
				return err
			}
			return printCaptures(g, []capture.Info{info})
		},
	}
	requestFlags(c, &req)
	return c
}

func captureListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List this agent's captures",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var infos []capture.Info
			if err := control.NewClient(g.socket).Get("/v1/captures", &infos); err != nil {
				return err
			}
			return printCaptures(g, infos)
		},
	}
}

func captureStopCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "stop ID",
		Short: "Stop a running capture",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var info capture.Info
			if err := control.NewClient(g.socket).Post("/v1/captures/"+args[0]+"/stop", nil, &info); err != nil {
				return err
			}
			return printCaptures(g, []capture.Info{info})
		},
	}
}

func captureFetchCmd(g *globals) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "fetch ID -w FILE",
		Short: "Download a finished capture, checking its SHA-256",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var info capture.Info
			if err := control.NewClient(g.socket).Get("/v1/captures/"+args[0], &info); err != nil {
				return err
			}
			if err := fetch(g, info, out); err != nil {
				return err
			}
			return reportCapture(g, info, out)
		},
	}
	c.Flags().StringVarP(&out, "write", "w", "", "file to write")
	c.MarkFlagRequired("write")
	return c
}

func printCaptures(g *globals, infos []capture.Info) error {
	if g.output == "json" {
		return printJSON(g, infos)
	}
	w := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintln(w, "ID\tORGANISATION\tSTATE\tSTARTED\tPACKETS\tBYTES\tREQUESTER\tSHA256")
	for _, i := range infos {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", i.ID, i.Request.Org, i.State,
			i.Started.Format(time.RFC3339), i.Packets, i.Bytes, i.Requester, orDash(i.SHA256))
	}
	return nil
}
