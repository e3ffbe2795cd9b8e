package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/palisade-psn/palisade/pkg/audit"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/inspect"
	"github.com/spf13/cobra"
)

// detached is what `detach -o json` prints: the interfaces taken off.
type detached struct {
	Detached []string `json:"detached"`
}

// cleaned is what `clean -o json` prints.
type cleaned struct {
	Removed string `json:"removed"` // the pin path
	Chain   string `json:"netfilter_chain_removed"`
}

// removeInspect removes the inspection chain; swapped by tests, which
// must not touch the host's netfilter.
var removeInspect = inspect.Remove

func detachCmd(g *globals) *cobra.Command {
	var config string
	c := &cobra.Command{
		Use:   "detach [IFACE...]",
		Short: "Take the boundary off interfaces (all when none are named): their traffic is no longer filtered",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				all, err := datapath.PinnedLinks(g.pinPath)
				if err != nil {
					return err
				}
				args = all
			}
			// Recorded first: what cannot be recorded is not detached.
			if len(args) > 0 {
				rec := audit.Record{Action: "detach", Subject: strings.Join(args, ","), Result: "ok",
					Detail: audit.Detail(map[string]any{"pin_path": g.pinPath, "interfaces": args})}
				if err := recordOff(cmd, config, rec, "not detached"); err != nil {
					return err
				}
			}
			var errs []error
			done := detached{Detached: []string{}}
			for _, ifname := range args {
				if err := datapath.Detach(g.pinPath, ifname); err != nil {
					errs = append(errs, err)
					continue
				}
				done.Detached = append(done.Detached, ifname)
				if g.output != "json" {
					fmt.Fprintf(g.out, "detached %s\n", ifname)
				}
			}
			if g.output == "json" {
				if err := writeJSON(g, done); err != nil {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		},
	}
	configFlag(c, &config)
	return c
}

func cleanCmd(g *globals) *cobra.Command {
	var config string
	c := &cobra.Command{
		Use:   "clean",
		Short: "Detach everywhere and remove all pinned state (flows, counters, policy)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Recorded first, when there is state to remove: what cannot
			// be recorded is not removed.
			if _, err := os.Stat(g.pinPath); err == nil {
				links, _ := datapath.PinnedLinks(g.pinPath)
				rec := audit.Record{Action: "clean", Subject: g.pinPath, Result: "ok",
					Detail: audit.Detail(map[string]any{"interfaces": links})}
				if err := recordOff(cmd, config, rec, "not cleaned"); err != nil {
					return err
				}
			}
			if err := datapath.Clean(g.pinPath); err != nil {
				return err
			}
			if err := removeInspect(context.Background()); err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(g, cleaned{Removed: g.pinPath, Chain: inspect.Chain})
			}
			fmt.Fprintf(g.out, "removed %s and the %s netfilter chain\n", g.pinPath, inspect.Chain)
			return nil
		},
	}
	configFlag(c, &config)
	return c
}
