package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/agenttest"
	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// obsLab is the standard lab with an agent whose flow log, audit log and
// captures live in the test's own directory, and metrics on the gateway.
type obsLab struct {
	gatewayLab
	dir     string
	metrics string
}

const obsMetricsAddr = "198.19.10.1:9464"

func startObsLab(t *testing.T, flowLogRate int) *obsLab {
	return startObsLabMode(t, flowLogRate, datapath.Native)
}

func startObsLabMode(t *testing.T, flowLogRate int, mode datapath.Mode) *obsLab {
	t.Helper()
	dir := t.TempDir()
	rules, _ := filepath.Abs("../../rules")
	extra := fmt.Sprintf("audit_log: %s\ncapture_dir: %s\nflow_log: {path: %s, rate: %d, drop_sample: 1}\ntimeouts: {icmp: 1s}\n",
		filepath.Join(dir, "audit.log"), filepath.Join(dir, "captures"), filepath.Join(dir, "flows.json"), flowLogRate)
	g := startGateway(t, agenttest.Config{Rules: rules, Mode: mode, Forwarding: true, Metrics: obsMetricsAddr, Extra: extra})
	return &obsLab{gatewayLab: *g, dir: dir, metrics: obsMetricsAddr}
}

// cli runs palisade with args and fails the test when it fails.
func (o *obsLab) cli(t *testing.T, args ...string) string {
	t.Helper()
	out, err := o.agent.CLI(args...)
	if err != nil {
		t.Fatalf("palisade %v: %v\n%s", args, err, out)
	}
	return out
}

// cliJSON runs palisade with -o json and decodes its output into v.
func (o *obsLab) cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := o.cli(t, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("palisade %v -o json: %v\n%s", args, err, out)
	}
}

// scrape fetches /metrics from inside the gateway's namespace.
func (o *obsLab) scrape(t *testing.T) string {
	t.Helper()
	body, err := o.gw.GW.HTTPGet(o.metrics, "/metrics", 20*time.Second)
	if err != nil {
		t.Fatalf("scrape metrics: %v", err)
	}
	return body
}

// pings sends n allowed echo exchanges from host (src) to dst.
func pings(t *testing.T, gw *lab.Gateway, host, src, dst string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := gw.Orgs[host].NS.PingFrom(src, dst, 3*time.Second); err != nil {
			t.Fatalf("ping %d: %v", i, err)
		}
	}
}

// refusedSYN sends one TCP SYN the policy refuses (the exchange times out
// before the first retransmission).
func refusedSYN(t *testing.T, gw *lab.Gateway, host, src, dst string) {
	t.Helper()
	if err := gw.Orgs[host].NS.TCPExchangeFrom(src, dst, 700*time.Millisecond); err == nil {
		t.Fatalf("tcp %s -> %s completed; the policy refuses it", src, dst)
	}
}

func jsonInto(s string, v any) bool { return json.Unmarshal([]byte(s), v) == nil }
