package agent

import (
	"time"

	"github.com/palisade-psn/palisade/pkg/audit"
)

// lifecycleDefaults fills in the policy-lifecycle settings.
func (c *Config) lifecycleDefaults() {
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.AuditLog == "" {
		c.AuditLog = audit.DefaultPath
	}
	if c.WatchRules == nil {
		t := true
		c.WatchRules = &t
	}
	if c.ComplianceCheck <= 0 {
		c.ComplianceCheck = time.Minute
	}
}
