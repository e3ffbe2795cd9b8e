package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/pkg/agent"
	"github.com/palisade-psn/palisade/pkg/control"
)

func TestParseSince(t *testing.T) {
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
}

// A rule is unused for the period only if it was counted for all of it;
// quiet ones counted for less are listed apart, unknown ones with them.
func TestReportUnused(t *testing.T) {
	now := time.Now().UTC()
	ago := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	day := 24 * time.Hour
	hits := &agent.RuleHits{CountersCreated: *ago(200 * day), Rules: []agent.RuleHit{
		{Rule: "a/never", CountingSince: ago(200 * day)},
		{Rule: "a/old", LastHit: ago(100 * day), CountingSince: ago(200 * day)},
		{Rule: "a/recent", LastHit: ago(time.Hour), CountingSince: ago(200 * day)},
		{Rule: "a/new", CountingSince: ago(3 * time.Hour)},                      // added 3 h ago
		{Rule: "a/back", LastHit: ago(150 * day), CountingSince: ago(10 * day)}, // removed, then added again
		{Rule: "a/unknown"}, // the agent cannot tell
		{Rule: "a/newhit", LastHit: ago(time.Minute), CountingSince: ago(time.Hour)}, // used
	}}
	r := unusedSince(hits, "90d", now.Add(-90*day))
	if names(r.Unused) != "a/never a/old" || names(r.NotCountedLongEnough) != "a/new a/back a/unknown" {
		t.Errorf("unused %s; not counted long enough %s", names(r.Unused), names(r.NotCountedLongEnough))
	}
}

func names(hs []agent.RuleHit) string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Rule)
	}
	return strings.Join(out, " ")
}

// After a reboot or a clean, a quiet rule is not called unused for 90
// days: the report says from when it counts, and that it cannot say.
func TestReportUnusedAfterReset(t *testing.T) {
	created := time.Now().UTC().Add(-3 * time.Hour)
	sock := fakeAgent(t, func(s *control.Server) {
		s.Handle("GET /v1/rules/hits", func(*http.Request) (any, error) {
			return agent.RuleHits{CountersCreated: created,
				CountersReset: &agent.CountersReset{Noticed: created, Previous: created.Add(-400 * 24 * time.Hour)},
				Rules:         []agent.RuleHit{{Rule: "surrey-cc/ntp", At: "surrey-cc.yaml:20:5", CountingSince: &created}}}, nil
		})
	})
	out, err := runCLI(t, "--socket", sock, "report", "unused", "--since", "90d")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"counting since the counters were created " + created.Format(time.RFC3339) + " (3h ago)",
		"the counters were created anew (a reboot or `palisade clean`)",
		"0 rule(s) without a hit in 90d",
		"quiet since counting began, less than 90d ago: cannot say whether unused for 90d",
		"surrey-cc/ntp  never     " + created.Format(time.RFC3339) + " (3h ago)",
		"1 rule(s) quiet since counting began, 3h ago at most: cannot say for 90d",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, "--socket", sock, "report", "unused", "--since", "90d", "-o", "json")
	var r unusedReport
	if err != nil || json.Unmarshal([]byte(out), &r) != nil || len(r.Unused) != 0 || len(r.NotCountedLongEnough) != 1 || r.CountersReset == nil {
		t.Errorf("-o json: %v\n%s", err, out)
	}
}
