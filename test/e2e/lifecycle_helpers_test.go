package e2e

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/agenttest"
	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/internal/scenario"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// startLabRules is startLab with a rules directory and config of the
// test's own: lifecycle tests change the rules under the agent.
func startLabRules(t *testing.T, rules, metrics, extra string) *gatewayLab {
	t.Helper()
	return startGateway(t, agenttest.Config{Rules: rules, Mode: datapath.Native, Forwarding: true, Metrics: metrics, Extra: extra})
}

// rulesVariant copies rules/ into a new directory and applies edits
// (file relative to rules/ -> old text -> new text).
func rulesVariant(t *testing.T, edits map[string][2]string) string {
	t.Helper()
	dir := t.TempDir()
	src, _ := filepath.Abs("../../rules")
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if e, ok := edits[rel]; ok {
			if !bytes.Contains(b, []byte(e[0])) {
				t.Fatalf("%s has no %q to edit", rel, e[0])
			}
			b = bytes.Replace(b, []byte(e[0]), []byte(e[1]), 1)
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// policyB drops the police's PNC feed and gives them NTP instead.
var policyB = map[string][2]string{
	"organisations/surrey-police.yaml": {
		"  - id: pnc-udp\n    to: [198.19.10.0/24]\n    proto: udp\n    ports: [\"5000-5010\"]\n",
		"  - service: ntp\n",
	},
}

func (g *gatewayLab) cli(t *testing.T, args ...string) string {
	t.Helper()
	out, err := g.agent.CLI(args...)
	if err != nil {
		t.Fatalf("palisade %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// digest is the policy digest in force (the rules', as validate prints it).
func (g *gatewayLab) digest(t *testing.T) string { return g.digests(t)[0] }

// digests is the policy digest and the state digest in force.
func (g *gatewayLab) digests(t *testing.T) [2]string {
	t.Helper()
	p, _ := g.status(t)["policy"].(map[string]any)
	d, _ := p["policy_digest"].(string)
	s, _ := p["state_digest"].(string)
	return [2]string{d, s}
}

// conn is a connection kept open across policy changes: its packets are
// decided by the flow table, so only cutting the flow stops them.
func dialIn(t *testing.T, ns *lab.NS, network, src, dst string) net.Conn {
	t.Helper()
	var c net.Conn
	err := ns.Do(func() (err error) {
		d := net.Dialer{Timeout: 3 * time.Second}
		if network == "udp" {
			d.LocalAddr, _ = net.ResolveUDPAddr("udp", net.JoinHostPort(src, "0"))
		} else {
			d.LocalAddr, _ = net.ResolveTCPAddr("tcp", net.JoinHostPort(src, "0"))
		}
		c, err = d.Dial(network, dst)
		return err
	})
	if err != nil {
		t.Fatalf("dial %s %s -> %s: %v", network, src, dst, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echo sends one payload on c and waits for it back.
func echo(c net.Conn, timeout time.Duration) error {
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("palisade")); err != nil {
		return err
	}
	buf := make([]byte, 64)
	_, err := c.Read(buf)
	return err
}

// auditRecords reads `palisade audit -o json`.
func (g *gatewayLab) auditRecords(t *testing.T) []map[string]any {
	t.Helper()
	var recs []map[string]any
	out := g.cli(t, "audit", "-o", "json")
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("audit -o json: %v\n%s", err, out)
	}
	return recs
}

type scenarioCheck = scenario.Check

// tryOK reports whether an exchange had the outcome the check expects.
func tryOK(g *gatewayLab, c scenario.Check) bool {
	return (scenario.TryWithin(g.gw, c, 2*time.Second) == nil) == c.Allow
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
