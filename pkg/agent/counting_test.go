package agent

import (
	"testing"
	"time"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/policy"
)

func TestCountingFollowsCountersAndRules(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	maps := datapath.CounterOrigin{BootID: "b1", MapID: 7, Created: t0}
	rules := func(names ...string) []policy.Rule {
		var rs []policy.Rule
		for _, n := range names {
			rs = append(rs, policy.Rule{Name: n})
		}
		return rs
	}
	c, _ := loadCounting(dir)
	c.observe(maps, rules("a/x", "a/y"), t0.Add(time.Minute))
	if c.since("a/x") != t0.Add(time.Minute) || c.Reset != nil {
		t.Fatalf("first: %+v", c)
	}
	// Later applies: a new rule counts from its apply; a removed one, if it
	// comes back, from its return.
	c.observe(maps, rules("a/x", "a/z"), t0.Add(time.Hour))
	c.observe(maps, rules("a/x", "a/y", "a/z"), t0.Add(2*time.Hour))
	if c.since("a/x") != t0.Add(time.Minute) || c.since("a/z") != t0.Add(time.Hour) || c.since("a/y") != t0.Add(2*time.Hour) {
		t.Fatalf("after applies: %+v", c.Rules)
	}
	if err := c.save(dir); err != nil {
		t.Fatal(err)
	}
	// An agent restart over the same counters keeps it all.
	c, _ = loadCounting(dir)
	if c.observe(maps, rules("a/x", "a/y", "a/z"), t0.Add(100*24*time.Hour)) || c.since("a/x") != t0.Add(time.Minute) {
		t.Fatalf("after restart: %+v", c.Rules)
	}
	// New counters (a reboot, palisade clean): counting starts again.
	reboot := t0.Add(101 * 24 * time.Hour)
	fresh := datapath.CounterOrigin{BootID: "b2", MapID: 3, Created: reboot}
	c.observe(fresh, rules("a/x"), reboot.Add(time.Second))
	if c.since("a/x") != reboot.Add(time.Second) || len(c.Rules) != 1 || c.Reset == nil || c.Reset.Previous != t0 {
		t.Fatalf("after a reboot: %+v %+v", c.Rules, c.Reset)
	}
	// Counters older than the agent's record of a rule (an upgrade to a
	// build that keeps one): the rule counts from when it was first seen.
	var up counting
	up.Rules = map[string]time.Time{}
	up.observe(maps, rules("a/x"), t0.Add(50*24*time.Hour))
	if up.since("a/x") != t0.Add(50*24*time.Hour) || up.Reset != nil {
		t.Fatalf("upgrade: %+v", up)
	}
}
