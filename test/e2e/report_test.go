package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unusedReport is the part of `palisade report unused -o json` tests read.
type unusedReport struct {
	CountersCreated time.Time `json:"counters_created"`
	CountersReset   *struct {
		Noticed time.Time `json:"noticed"`
	} `json:"counters_reset"`
	Unused               []ruleHit `json:"unused"`
	NotCountedLongEnough []ruleHit `json:"not_counted_long_enough"`
}

type ruleHit struct {
	Rule          string     `json:"rule"`
	CountingSince *time.Time `json:"counting_since"`
}

func (g *gatewayLab) unused(t *testing.T, since string) unusedReport {
	t.Helper()
	var r unusedReport
	if out := g.cli(t, "report", "unused", "--since", since, "-o", "json"); json.Unmarshal([]byte(out), &r) != nil {
		t.Fatalf("report unused -o json:\n%s", out)
	}
	return r
}

func listed(hs []ruleHit, rule string) *ruleHit {
	for i := range hs {
		if hs[i].Rule == rule {
			return &hs[i]
		}
	}
	return nil
}

// TestReportUnusedCounting: `report unused` calls a rule unused for a
// period only when it has been counted for all of it, across agent
// restarts; after `palisade clean` (as after a reboot) the counters start
// again and so does the claim, and the report says so.
func TestReportUnusedCounting(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and BPF")
	}
	start := time.Now().Add(-time.Second)
	g := startLabRules(t, rulesVariant(t, nil), "", "watch_rules: false\n")
	mustTry(t, g, probe("surrey", "tcp", "198.18.1.10", "198.19.10.10:443", true)) // surrey-cc/dwp-benefits

	// Just started: nothing has been counted for 90 days.
	r := g.unused(t, "90d")
	ntp := listed(r.NotCountedLongEnough, "surrey-cc/ntp")
	if len(r.Unused) != 0 || ntp == nil || ntp.CountingSince == nil || ntp.CountingSince.Before(start) ||
		listed(r.NotCountedLongEnough, "surrey-cc/dwp-benefits") != nil || r.CountersReset != nil {
		t.Fatalf("report unused --since 90d just after start: %+v", r)
	}
	if out := g.cli(t, "report", "unused", "--since", "90d"); !strings.Contains(out, "cannot say whether unused for 90d") ||
		!strings.Contains(out, "0 rule(s) without a hit in 90d") {
		t.Errorf("report unused text:\n%s", out)
	}
	time.Sleep(1500 * time.Millisecond)
	mustTry(t, g, probe("surrey", "tcp", "198.18.1.10", "198.19.10.10:443", true))
	if r := g.unused(t, "1s"); listed(r.Unused, "surrey-cc/ntp") == nil || listed(r.Unused, "surrey-cc/dwp-benefits") != nil {
		t.Errorf("report unused --since 1s: %+v", r)
	}

	// 100 days later (the record is moved back: the counters are the same
	// maps, kept across the restart), the quiet rule is unused for 90 days.
	if err := g.agent.Stop(); err != nil {
		t.Fatal(err)
	}
	backdate(t, filepath.Join(filepath.Dir(g.agent.CfgPath), "state", "counting.json"), 100*24*time.Hour)
	if err := g.agent.Start(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	r = g.unused(t, "90d")
	if listed(r.Unused, "surrey-cc/ntp") == nil || listed(r.Unused, "surrey-cc/dwp-benefits") != nil || len(r.NotCountedLongEnough) != 0 {
		t.Errorf("report unused --since 90d, counted for 100 days: %+v", r)
	}
	// A rule added now is counted from now.
	g.cli(t, "apply", rulesVariant(t, policyB))
	r = g.unused(t, "90d")
	if listed(r.NotCountedLongEnough, "surrey-police/ntp") == nil || listed(r.Unused, "surrey-cc/ntp") == nil {
		t.Errorf("after applying a new rule: %+v", r)
	}

	// palisade clean with the agent stopped: new counters at the next start.
	if err := g.agent.Stop(); err != nil {
		t.Fatal(err)
	}
	g.cli(t, "clean", "--config", g.agent.CfgPath)
	cleaned := time.Now().Add(-time.Second)
	if err := g.agent.Start(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	r = g.unused(t, "90d")
	if len(r.Unused) != 0 || listed(r.NotCountedLongEnough, "surrey-cc/ntp") == nil || r.CountersReset == nil || r.CountersCreated.Before(cleaned) {
		t.Errorf("report unused --since 90d after clean: %+v", r)
	}
	out := g.cli(t, "report", "unused", "--since", "90d")
	if !strings.Contains(out, "the counters were created anew (a reboot or `palisade clean`)") || !strings.Contains(out, "cannot say for 90d") {
		t.Errorf("report after clean:\n%s", out)
	}
	t.Logf("report unused --since 90d after clean:\n%s", out)
}

// backdate moves every time in the agent's counting record back by d.
func backdate(t *testing.T, path string, d time.Duration) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Counters map[string]any       `json:"counters"`
		Rules    map[string]time.Time `json:"rules"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	created, _ := time.Parse(time.RFC3339Nano, c.Counters["created"].(string))
	c.Counters["created"] = created.Add(-d)
	for k, v := range c.Rules {
		c.Rules[k] = v.Add(-d)
	}
	if b, err = json.Marshal(c); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
