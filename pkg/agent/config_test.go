package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/pkg/datapath"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "palisaded.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfig(t *testing.T) {
	cases := []struct {
		name, text, err string
	}{
		{"minimal", "rules: /etc/palisade/rules\ninterfaces: [org0]\n", ""},
		{"misspelt key", "rules: r\ninterfaces: [org0]\nforwardng: false\n", "field forwardng not found"},
		{"no rules", "interfaces: [org0]\n", "rules: the rules directory is required"},
		{"no interfaces", "rules: r\n", "interfaces: at least one"},
		{"bad mode", "rules: r\ninterfaces: [org0]\nxdp_mode: turbo\n", `xdp_mode: "turbo"`},
		{"bad duration", "rules: r\ninterfaces: [org0]\ntimeouts: {udp: soon}\n", "soon"},
		// Seeds of FuzzParseConfig: a second document was ignored, misspelt keys and all,
		{"second document", "rules: r\ninterfaces: [org0]\n---\nforwardng: false\n", "more than one YAML document"},
		// and queue numbers wrapped past 65535 (iptables refused them at start).
		{"queues past 65535", "rules: r\ninterfaces: [org0]\ninspect: {queue: 65535}\n", "inspect: queues 65535 to 65538"},
		{"last queue 65535", "rules: r\ninterfaces: [org0]\ninspect: {queue: 65532, queues: 2}\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, tc.text))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error = %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestConfigDefaultsAndTimeouts(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, "rules: r\ninterfaces: [org0, svc0]\ntimeouts: {udp: 90s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.XDPMode != datapath.Native || c.PinPath != datapath.DefaultPinPath || !*c.Forwarding {
		t.Errorf("defaults = mode %q pin %q forwarding %v", c.XDPMode, c.PinPath, *c.Forwarding)
	}
	s := c.settings()
	if s.Timeouts.UDP != 90*time.Second || s.Timeouts.TCPEstablished != datapath.DefaultTimeouts().TCPEstablished {
		t.Errorf("timeouts = %+v", s.Timeouts)
	}
}

func TestConfigFlowQuota(t *testing.T) {
	for text, want := range map[string]uint32{"": 0, "flow_quota: 5000\n": 5000} {
		c, err := LoadConfig(writeConfig(t, "rules: r\ninterfaces: [org0]\n"+text))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.settings().FlowQuota; got != want {
			t.Errorf("%q: settings().FlowQuota = %d, want %d", text, got, want)
		}
	}
}
