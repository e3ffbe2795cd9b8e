package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"

	"github.com/palisade-psn/palisade/pkg/agent"
	"github.com/palisade-psn/palisade/pkg/audit"
	"github.com/spf13/cobra"
)

// Taking the boundary off (detach, clean) is a change like an apply: the
// CLI writes its record to the agent's audit log (found through the
// agent's config) before doing it, and does not do what it cannot record.
// The audit package locks the file, so a running agent's chain and this
// one stay one chain.

func configFlag(c *cobra.Command, config *string) {
	c.Flags().StringVar(config, "config", agent.DefaultConfigPath, "palisaded's config file, for its audit log (audit_log)")
}

// recordOff appends r (its user filled in) to the audit log the config
// names. notDone says what is not done when it cannot be written.
func recordOff(cmd *cobra.Command, config string, r audit.Record, notDone string) error {
	path, err := agent.AuditLogPath(config, cmd.Flags().Changed("config"))
	if err != nil {
		return fmt.Errorf("%s: cannot find the audit log: %w", notDone, err)
	}
	l, err := audit.Open(path)
	if err == nil {
		r.User = localUser()
		_, err = l.Append(r)
	}
	if err != nil {
		return fmt.Errorf("%s: cannot write the audit log: %w", notDone, err)
	}
	return nil
}

// localUser names who runs the CLI, as the agent names its socket's peers.
func localUser() string {
	u, err := user.Current()
	if err != nil {
		return strconv.Itoa(os.Getuid())
	}
	return u.Username
}
