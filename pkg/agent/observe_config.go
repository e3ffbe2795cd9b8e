package agent

import (
	"path/filepath"

	"github.com/palisade-psn/palisade/pkg/audit"
)

// FlowLog configures the flow log (JSON lines in EVE shape).
type FlowLog struct {
	Path       string  `yaml:"path"`        // default /var/log/palisade/flows.json; "off" disables
	MaxBytes   int64   `yaml:"max_bytes"`   // rotate past this size; default 100 MiB
	Files      int     `yaml:"files"`       // rotated files kept; default 5
	Rate       uint32  `yaml:"rate"`        // events a second per CPU, each of flow starts and drops; default 1000
	DropSample *uint32 `yaml:"drop_sample"` // log 1 in N refused packets; 0 none; default 1
}

const (
	defaultFlowLog    = "/var/log/palisade/flows.json"
	defaultCaptureDir = "/var/lib/palisade/captures"
)

// Defaults are applied where they are used, so the config file stays the
// one place an operator reads what is set.
func (c *Config) flowLog() FlowLog {
	f := c.FlowLog
	if f.Path == "" {
		f.Path = defaultFlowLog
	}
	if f.MaxBytes <= 0 {
		f.MaxBytes = 100 << 20
	}
	if f.Files <= 0 {
		f.Files = 5
	}
	if f.Rate == 0 {
		f.Rate = 1000
	}
	if f.DropSample == nil {
		one := uint32(1)
		f.DropSample = &one
	}
	return f
}

func (c *Config) auditLog() string {
	if c.AuditLog == "" {
		return audit.DefaultPath
	}
	return c.AuditLog
}

func (c *Config) captureDir() string {
	if c.CaptureDir == "" {
		return defaultCaptureDir
	}
	return filepath.Clean(c.CaptureDir)
}
