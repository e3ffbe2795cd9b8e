// Package e2e runs the real agent in a lab of network namespaces: organisation
// hosts, the gateway with XDP on all its interfaces, service hosts, and real
// TCP, UDP and ICMP between them, checked against the example policy.
package e2e

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/palisade-psn/palisade/internal/agenttest"
	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/internal/scenario"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// gatewayLab is the standard lab with the agent running on its gateway.
type gatewayLab struct {
	gw    *lab.Gateway
	agent *agenttest.Agent
}

func startLab(t *testing.T, mode datapath.Mode, forward bool) *gatewayLab {
	t.Helper()
	rules, _ := filepath.Abs("../../rules")
	return startGateway(t, agenttest.Config{Rules: rules, Mode: mode, Forwarding: forward})
}

// startGateway builds the standard lab with its servers and runs the agent
// built from the tree on every gateway interface with cfg.
func startGateway(t *testing.T, cfg agenttest.Config) *gatewayLab {
	t.Helper()
	bins, err := agenttest.Build()
	if err != nil {
		t.Fatal(err)
	}
	gw, err := lab.NewGateway(lab.NewT(t), lab.StandardSpec())
	if err != nil {
		t.Fatal(err)
	}
	stop, err := scenario.Prepare(gw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	cfg.Interfaces = gw.GWIfs
	return &gatewayLab{gw: gw, agent: agenttest.StartT(t, gw.GW, bins, cfg)}
}

func (g *gatewayLab) status(t *testing.T) map[string]any {
	t.Helper()
	out, err := g.agent.CLI("status", "-o", "json")
	if err != nil {
		t.Fatalf("palisade status: %v\n%s", err, out)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("palisade status -o json: %v\n%s", err, out)
	}
	return st
}

// counter digs a packet count out of `palisade status -o json`.
func counter(st map[string]any, path ...string) float64 {
	var v any = st
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return -1
		}
		v = m[p]
	}
	m, ok := v.(map[string]any)
	if !ok {
		return -1
	}
	n, _ := m["Packets"].(float64)
	return n
}
