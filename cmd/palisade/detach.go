package main

import (
	"context"
	"errors"
	"fmt"

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
	return &cobra.Command{
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
}

func cleanCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "clean",
		Short: "Detach everywhere and remove all pinned state (flows, counters, policy)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
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
}
