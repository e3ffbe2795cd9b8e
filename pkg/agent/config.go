// Package agent wires the rules, the policy compiler and the datapath into
// the running palisaded: load, attach, publish, reload on SIGHUP, and leave
// enforcement in place on exit.
package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/inspect"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
	"gopkg.in/yaml.v3"
)

// DefaultConfigPath is where palisaded looks for its config.
const DefaultConfigPath = "/etc/palisade/palisaded.yaml"

// Config is palisaded's config file.
type Config struct {
	Rules         string        `yaml:"rules"`           // rules directory
	Interfaces    []string      `yaml:"interfaces"`      // where XDP is attached
	XDPMode       datapath.Mode `yaml:"xdp_mode"`        // native (default) or generic
	Forwarding    *bool         `yaml:"forwarding"`      // forward in XDP; default true
	PinPath       string        `yaml:"pin_path"`        // bpffs directory
	Metrics       string        `yaml:"metrics"`         // listen address for /metrics; "" = off
	Socket        string        `yaml:"socket"`          // local API (Unix socket, root only)
	FlowTableSize uint32        `yaml:"flow_table_size"` // flows remembered; 0 = built-in
	FlowQuota     uint32        `yaml:"flow_quota"`      // flows per organisation without its own limit; 0 = fair share
	Timeouts      Timeouts      `yaml:"timeouts"`
	Inspect       Inspect       `yaml:"inspect"`     // the inspector of flagged flows
	AuditLog      string        `yaml:"audit_log"`   // hash-chained audit log; default audit.DefaultPath
	FlowLog       FlowLog       `yaml:"flow_log"`    // see observe_config.go
	CaptureDir    string        `yaml:"capture_dir"` // capture files; default /var/lib/palisade/captures
	StateDir      string        `yaml:"state_dir"`   // suspensions, audit head; default /var/lib/palisade
	WatchRules    *bool         `yaml:"watch_rules"` // apply the rules directory when it changes; default true
	// ComplianceCheck is how often certificate expiry is checked; default 1m.
	ComplianceCheck time.Duration `yaml:"compliance_check"`
}

// Inspect places the inspector's NFQUEUE queues: Queues fail-closed ones
// from Queue on, then as many fail-open ones; and bounds what one
// organisation may hold of its flow tracker.
type Inspect struct {
	Queue    uint16 `yaml:"queue"`    // first queue number; default 4200
	Queues   uint16 `yaml:"queues"`   // per failure mode; default 2
	Disabled bool   `yaml:"disabled"` // no inspector: flagged flows follow their failure mode
	// OrgFlowQuota is how many flows one organisation may have tracked at
	// once; 0: a fair share of the tracker (see inspect.Budget).
	OrgFlowQuota int `yaml:"org_flow_quota"`
}

// Timeouts override the datapath's flow idle timeouts.
type Timeouts struct {
	TCPSyn         time.Duration `yaml:"tcp_syn"`
	TCPEstablished time.Duration `yaml:"tcp_established"`
	TCPClosing     time.Duration `yaml:"tcp_closing"`
	UDP            time.Duration `yaml:"udp"`
	ICMP           time.Duration `yaml:"icmp"`
	Fragment       time.Duration `yaml:"fragment"`
}

// LoadConfig reads and checks a config file. Unknown keys are errors: a
// misspelt setting must not silently fall back to a default.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseConfig(b, path)
}

// parseConfig decodes and checks the config file's bytes; name is where
// they came from, for errors.
func parseConfig(b []byte, name string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// A second document would be read by nobody, misspelt keys and all.
	if err := dec.Decode(new(yaml.Node)); err != io.EOF {
		return nil, fmt.Errorf("%s: more than one YAML document (a --- line): palisaded reads one", name)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
}

func (c *Config) check() error {
	var errs []error
	if c.Rules == "" {
		errs = append(errs, errors.New("rules: the rules directory is required"))
	}
	if len(c.Interfaces) == 0 {
		errs = append(errs, errors.New("interfaces: at least one interface is required"))
	}
	switch c.XDPMode {
	case "":
		c.XDPMode = datapath.Native
	case datapath.Native, datapath.Generic:
	default:
		errs = append(errs, fmt.Errorf("xdp_mode: %q is not native or generic", c.XDPMode))
	}
	if c.PinPath == "" {
		c.PinPath = datapath.DefaultPinPath
	}
	if c.Socket == "" {
		c.Socket = control.DefaultSocket
	}
	if c.Inspect.Queue == 0 {
		c.Inspect.Queue = inspect.DefaultQueues.First
	}
	if c.Inspect.Queues == 0 {
		c.Inspect.Queues = inspect.DefaultQueues.N
	}
	if last := int(c.Inspect.Queue) + 2*int(c.Inspect.Queues) - 1; last > 0xffff {
		errs = append(errs, fmt.Errorf("inspect: queues %d to %d: NFQUEUE numbers end at 65535", c.Inspect.Queue, last))
	}
	if q := c.Inspect.OrgFlowQuota; q < 0 || q > inspect.MaxFlows {
		errs = append(errs, fmt.Errorf("inspect: org_flow_quota %d: want 0 (a fair share) to %d flows", q, inspect.MaxFlows))
	}
	if c.Forwarding == nil {
		t := true
		c.Forwarding = &t
	}
	c.lifecycleDefaults()
	return errors.Join(errs...)
}

// settings gives the datapath's run-time settings.
func (c *Config) settings() datapath.Settings {
	t := datapath.DefaultTimeouts()
	o := c.Timeouts
	for _, p := range []struct {
		dst *time.Duration
		v   time.Duration
	}{
		{&t.TCPSyn, o.TCPSyn}, {&t.TCPEstablished, o.TCPEstablished}, {&t.TCPClosing, o.TCPClosing},
		{&t.UDP, o.UDP}, {&t.ICMP, o.ICMP}, {&t.Fragment, o.Fragment},
	} {
		if p.v > 0 {
			*p.dst = p.v
		}
	}
	return datapath.Settings{Forward: *c.Forwarding, Timeouts: t, FlowQuota: c.FlowQuota}
}

// CheckRules loads and compiles the rules the config names, reporting what
// it found: `palisaded --check-config`.
func CheckRules(c *Config, w io.Writer) error {
	p, err := rules.Load(c.Rules)
	if err != nil {
		return err
	}
	for _, warn := range p.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
	cp := policy.Compile(p)
	fmt.Fprintf(w, "config ok: %d organisations, %d rules, policy digest %s\n", len(cp.Orgs), len(cp.Rules), cp.PolicyDigest)
	return nil
}
