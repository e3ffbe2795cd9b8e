package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Output formats every command takes with -o. A command with no JSON form
// says so with the textOnly annotation, and -o json is refused for it
// rather than answered in text a script would misread.
var outputFormats = []string{"text", "json"}

// textOnly marks a command that prints no JSON (its value says why).
const textOnly = "palisade/text-only"

// checkOutput refuses an unknown -o, and -o json for a text-only command.
// It runs before every command (the root's PersistentPreRunE), so nothing
// is done under a format that will not be honoured.
func checkOutput(g *globals, cmd *cobra.Command) error {
	ok := false
	for _, f := range outputFormats {
		ok = ok || g.output == f
	}
	if !ok {
		return fmt.Errorf("-o %s: unknown output format; want %s", g.output, strings.Join(outputFormats, " or "))
	}
	if g.output != "json" {
		return nil
	}
	if why, ok := cmd.Annotations[textOnly]; ok {
		return fmt.Errorf("%s has no JSON form (-o json): %s", cmd.CommandPath(), why)
	}
	return nil
}

// markTextOnly annotates cobra's own commands (help, completion), which
// print text for people or shells.
func markTextOnly(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	groupsShowHelp(root)
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			annotate(c, "it prints help for people")
		case "completion":
			for _, sh := range c.Commands() {
				annotate(sh, "it prints a shell script")
			}
		}
	}
}

// groupsShowHelp gives each command that only groups others (and the
// root) a run of its own that prints its help, so -o is checked for it
// too; a word it does not know is an unknown command, as at the root.
func groupsShowHelp(c *cobra.Command) {
	for _, sub := range c.Commands() {
		groupsShowHelp(sub)
	}
	if c.Runnable() || !c.HasSubCommands() {
		return
	}
	c.Args = cobra.NoArgs
	c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	annotate(c, "it lists its subcommands")
}

func annotate(c *cobra.Command, why string) {
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[textOnly] = why
}
