package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

// versionInfo is what `version -o json` prints.
type versionInfo struct {
	Version string `json:"version"`
	Go      string `json:"go"`
	Arch    string `json:"arch"`
}

func versionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.output == "json" {
				return writeJSON(g, versionInfo{Version: version, Go: runtime.Version(), Arch: runtime.GOARCH})
			}
			fmt.Fprintln(g.out, "palisade", version)
			return nil
		},
	}
}
