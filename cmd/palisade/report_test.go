package main

import (
	"testing"
	"time"

	"github.com/palisade-psn/palisade/pkg/agent"
)

func TestReportUnused(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "0d": 0, "36h": 36 * time.Hour} {
		if got, err := parseSince(in); err != nil || got != want {
			t.Errorf("parseSince(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"d", "-3d", "ninety", "-1h"} {
		if _, err := parseSince(bad); err == nil {
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
	now := time.Now()
	old, recent := now.Add(-100*24*time.Hour), now.Add(-time.Hour)
	hits := []agent.RuleHit{{Rule: "a/never"}, {Rule: "a/old", LastHit: &old}, {Rule: "a/recent", LastHit: &recent}}
	got := unusedSince(hits, now.Add(-90*24*time.Hour))
	if len(got) != 2 || got[0].Rule != "a/never" || got[1].Rule != "a/old" {
		t.Errorf("unused = %+v", got)
	}
}
