package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/inspect"
	"github.com/spf13/cobra"
)

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
			for _, ifname := range args {
				if err := datapath.Detach(g.pinPath, ifname); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(g.out, "detached %s\n", ifname)
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
			if err := inspect.Remove(context.Background()); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "removed %s and the %s netfilter chain\n", g.pinPath, inspect.Chain)
			return nil
		},
	}
}

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func versionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, args []string) { fmt.Fprintln(g.out, "palisade", version) },
	}
}
