// Command palisade is the operator's CLI: validate rules, see what the
// boundary enforces and counts, and take it off interfaces.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/spf13/cobra"
)

// errSilent is returned after a command printed its own failure.
var errSilent = errors.New("")

type globals struct {
	out     io.Writer
	output  string // text or json
	pinPath string
	socket  string
}

func newRoot(out io.Writer) *cobra.Command {
	g := &globals{out: out}
	root := &cobra.Command{
		Use:           "palisade",
		Short:         "Operate the Palisade XDP boundary",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return checkOutput(g, cmd)
		},
	}
	root.SetOut(out)
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "text", "output format: text or json (refused by commands with no JSON form)")
	root.PersistentFlags().StringVar(&g.pinPath, "pin-path", datapath.DefaultPinPath, "bpffs directory of the pinned datapath")
	root.PersistentFlags().StringVar(&g.socket, "socket", control.DefaultSocket, "palisaded's control socket")
	for _, c := range []func(*globals) *cobra.Command{
		validateCmd, statusCmd, detachCmd, cleanCmd, versionCmd,
		flowsCmd,
		captureCmd,
		topCmd,
		explainCmd,
		testCmd,
		planCmd,
		applyCmd,
		orgCmd,
		auditCmd,
		reportCmd,
		doctorCmd,
	} {
		root.AddCommand(c(g))
	}
	markTextOnly(root)
	return root
}

func main() {
	if err := newRoot(os.Stdout).Execute(); err != nil {
		if !errors.Is(err, errSilent) {
			fmt.Fprintln(os.Stderr, "palisade:", err)
		}
		os.Exit(1)
	}
}
