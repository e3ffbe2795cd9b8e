package agent

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"gopkg.in/yaml.v3"
)

// FuzzParseConfig feeds arbitrary bytes to the config loader. It must not
// panic and returns a config or an error, never both. A config it accepts
// has every default applied and inspector queues that exist; written back
// out as YAML it loads to the same config (nothing read is lost, defaults
// are stable); and a misspelt key added at its end is refused, as the
// loader promises.
func FuzzParseConfig(f *testing.F) {
	seeds := []string{
		"rules: /etc/palisade/rules\ninterfaces: [org0]\n",
		"rules: r\ninterfaces: [org0]\nforwardng: false\n",
		"interfaces: [org0]\n",
		"rules: r\ninterfaces: [org0]\nxdp_mode: turbo\n",
		"rules: r\ninterfaces: [org0]\ntimeouts: {udp: soon}\n",
		"rules: r\ninterfaces: [org0, svc0]\ntimeouts: {udp: 90s, tcp_established: -2h}\n",
		"rules: r\ninterfaces: [org0]\ninspect: {queue: 100, queues: 4}\n",
		"rules: r\ninterfaces: [org0]\ninspect: {queue: 65535, queues: 1}\n",
		"rules: r\ninterfaces: [org0]\nflow_log: {path: \"off\", drop_sample: 0}\ncompliance_check: 0s\nforwarding: false\n",
		"rules: r\ninterfaces: [org0]\n---\nxdp_mode: generic\n",
		"rules: &r r\ninterfaces: [*r]\nwatch_rules: ~\n<<: {pin_path: /p}\n",
		"{rules: r, interfaces: [a], socket: '', metrics: '[::1]:9617', flow_table_size: 4294967296}",
		"", "---", "\t", "rules: [r]",
	}
	if b, err := os.ReadFile("../../deploy/palisaded.yaml"); err == nil {
		seeds = append(seeds, string(b), strings.Replace(string(b), "interfaces: []", "interfaces: [ens1f0]", 1))
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := parseConfig([]byte(text), "fuzz.yaml")
		if (c == nil) == (err == nil) {
			t.Fatalf("config %+v and error %v", c, err)
		}
		if err != nil {
			return
		}
		checkDefaults(t, c)
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("marshal %+v: %v", c, err)
		}
		again, err := parseConfig(out, "again.yaml")
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("written back as\n%s\nit loads to %+v, %v\nnot %+v", out, again, err, c)
		}
		if _, err := parseConfig([]byte(text+"\nforwardng: false\n"), "fuzz.yaml"); err == nil {
			t.Fatalf("a misspelt key after\n%s\nwas accepted", text)
		}
	})
}

func checkDefaults(t *testing.T, c *Config) {
	t.Helper()
	if c.Rules == "" || len(c.Interfaces) == 0 {
		t.Errorf("rules %q and interfaces %q accepted", c.Rules, c.Interfaces)
	}
	if c.XDPMode != datapath.Native && c.XDPMode != datapath.Generic {
		t.Errorf("xdp_mode %q", c.XDPMode)
	}
	if c.PinPath == "" || c.Socket == "" || c.StateDir == "" || c.AuditLog == "" ||
		c.Forwarding == nil || c.WatchRules == nil || c.ComplianceCheck <= 0 {
		t.Errorf("a default is missing: %+v", c)
	}
	if q := c.Inspect; q.Queue == 0 || q.Queues == 0 || int(q.Queue)+2*int(q.Queues)-1 > 0xffff {
		t.Errorf("inspector queues %d, %d per failure mode: past 65535", q.Queue, q.Queues)
	}
}
