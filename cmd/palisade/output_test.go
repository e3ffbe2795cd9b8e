package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/palisade-psn/palisade/pkg/agent"
	"github.com/palisade-psn/palisade/pkg/audit"
	"github.com/palisade-psn/palisade/pkg/capture"
	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/doctor"
	"github.com/palisade-psn/palisade/pkg/flows"
	"github.com/spf13/cobra"
)

// jsonCase is how one command is run in TestEveryCommandHonoursOutput.
type jsonCase struct {
	args     []string // after the command's path
	textOnly bool     // -o json is refused: the command has no JSON form
	lines    bool     // a stream: one JSON document a line (NDJSON)
	failing  bool     // exits 1 after printing its JSON (a FAIL, a failed case)
}

// jsonCases has every command of the CLI: a new command without a case
// fails the test, so none ships without deciding its JSON form.
func jsonCases(t *testing.T) map[string]jsonCase {
	dir := t.TempDir()
	rules := []string{"../../rules", "--offline"}
	return map[string]jsonCase{
		"":                      {textOnly: true},
		"help":                  {textOnly: true},
		"completion":            {textOnly: true},
		"completion bash":       {textOnly: true},
		"completion zsh":        {textOnly: true},
		"completion fish":       {textOnly: true},
		"completion powershell": {textOnly: true},
		"org":                   {textOnly: true},
		"report":                {textOnly: true},
		"version":               {},
		"validate":              {args: []string{"../../rules"}},
		"status":                {},
		"detach":                {args: []string{"--pin-path", filepath.Join(dir, "pins")}},
		"clean":                 {args: []string{"--pin-path", filepath.Join(dir, "pins")}},
		"flows":                 {},
		"capture":               {args: []string{"--org", "surrey-cc", "-w", filepath.Join(dir, "c.pcapng")}},
		"capture start":         {args: []string{"--org", "surrey-cc"}},
		"capture list":          {},
		"capture stop":          {args: []string{"c1"}},
		"capture fetch":         {args: []string{"c1", "-w", filepath.Join(dir, "f.pcapng")}},
		"top":                   {args: []string{"--interval", "1ms"}},
		"explain":               {args: append(rules, "--from", "198.18.1.10", "--to", "198.19.10.10:443/tcp")},
		"test":                  {args: rules},
		"plan":                  {args: rules},
		"apply":                 {args: []string{"../../rules"}},
		"org suspend":           {args: []string{"surrey-cc", "--reason", "test"}},
		"org restore":           {args: []string{"surrey-cc"}},
		"audit":                 {},
		"audit verify":          {},
		"report unused":         {args: []string{"--since", "90d"}},
		"doctor":                {},
	}
}

// TestEveryCommandHonoursOutput walks every command of the CLI: -o json
// prints valid JSON (a stream: a JSON document a line) or, for a command
// with no JSON form, is refused saying so; -o yaml is refused by all of
// them before anything is done.
func TestEveryCommandHonoursOutput(t *testing.T) {
	calls := &atomic.Int64{}
	sock := jsonAgent(t, calls)
	fakeDoctor(t, &doctor.Report{OK: true, Results: []doctor.Result{{Check: "kernel", Status: doctor.OK}}})
	old := removeInspect
	removeInspect = func(context.Context) error { return nil }
	t.Cleanup(func() { removeInspect = old })
	cases := jsonCases(t)
	var walked []string
	walk(newRoot(io.Discard), func(path string) {
		walked = append(walked, path)
		c, ok := cases[path]
		if !ok {
			t.Errorf("palisade %s: no case here: decide its -o json and add it", path)
			return
		}
		args := append(append(strings.Fields(path), c.args...), "--socket", sock)
		out, err := runCLI(t, append(args, "-o", "json")...)
		switch {
		case c.textOnly:
			if err == nil || !strings.Contains(err.Error(), "has no JSON form") || out != "" {
				t.Errorf("palisade %s -o json: want a refusal, got %v:\n%s", path, err, out)
			}
		case err != nil && !(c.failing && err == errSilent):
			t.Errorf("palisade %s -o json: %v\n%s", path, err, out)
		case c.lines:
			for sc := bufio.NewScanner(strings.NewReader(out)); sc.Scan(); {
				if !json.Valid(sc.Bytes()) {
					t.Errorf("palisade %s -o json: line is not JSON: %s", path, sc.Text())
				}
			}
		case !json.Valid([]byte(out)):
			t.Errorf("palisade %s -o json: not JSON:\n%s", path, out)
		}
		before := calls.Load()
		out, err = runCLI(t, append(args, "-o", "yaml")...)
		if err == nil || !strings.Contains(err.Error(), "-o yaml: unknown output format; want text or json") || out != "" {
			t.Errorf("palisade %s -o yaml: want a refusal, got %v:\n%s", path, err, out)
		}
		if calls.Load() != before {
			t.Errorf("palisade %s -o yaml asked the agent before refusing", path)
		}
	})
	t.Logf("%d commands walked", len(walked))
	for path := range cases {
		if !slices.Contains(walked, path) {
			t.Errorf("case %q names no command", path)
		}
	}
	// Streams: flows --follow, one record a line.
	out, err := runCLI(t, "flows", "--follow", "--socket", sock, "-o", "json")
	if n := strings.Count(out, "\n"); err != nil || n != 2 {
		t.Errorf("flows --follow -o json: %v, %d lines:\n%s", err, n, out)
	}
	for sc := bufio.NewScanner(strings.NewReader(out)); sc.Scan(); {
		if !json.Valid(sc.Bytes()) {
			t.Errorf("flows --follow -o json: line is not JSON: %s", sc.Text())
		}
	}
}

// walk calls fn with the path of every command under c, the root as "".
func walk(c *cobra.Command, fn func(string)) {
	if c.Hidden {
		return
	}
	fn(strings.TrimPrefix(strings.TrimPrefix(c.CommandPath(), "palisade"), " "))
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

// jsonAgent answers every path the CLI asks with something of the right
// shape, and counts the requests.
func jsonAgent(t *testing.T, calls *atomic.Int64) string {
	pcap := []byte("not really a pcapng file")
	sum := sha256.Sum256(pcap)
	done := capture.Info{ID: "c1", State: "done", SHA256: hex.EncodeToString(sum[:]), Request: capture.Request{Org: "surrey-cc"}}
	answers := map[string]any{
		"GET /v1/status":              control.Status{},
		"GET /v1/flows":               []flows.Record{{EventType: "flow", Org: "surrey-cc"}},
		"POST /v1/captures":           done,
		"GET /v1/captures":            []capture.Info{done},
		"GET /v1/captures/{id}":       done,
		"POST /v1/captures/{id}/stop": done,
		"GET /v1/counters":            control.Counters{},
		"POST /v1/apply":              agent.ApplyResult{},
		"POST /v1/orgs/{org}/suspend": agent.OrgChange{Org: "surrey-cc", State: "suspended"},
		"POST /v1/orgs/{org}/restore": agent.OrgChange{Org: "surrey-cc", State: "active"},
		"GET /v1/audit":               []audit.Record{{Seq: 1, Action: "apply", Result: "ok"}},
		"GET /v1/audit/verify":        agent.AuditVerdict{OK: true, Records: 1},
		"GET /v1/rules/hits":          agent.RuleHits{Rules: []agent.RuleHit{{Rule: "surrey-cc/ntp"}}},
	}
	return fakeAgent(t, func(s *control.Server) {
		for pattern, v := range answers {
			s.Handle(pattern, func(*http.Request) (any, error) { calls.Add(1); return v, nil })
		}
		s.HandleRaw("GET /v1/captures/{id}/file", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.Write(pcap)
		}))
		s.HandleRaw("GET /v1/flows/follow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			var b bytes.Buffer
			for _, org := range []string{"surrey-cc", "nhs-trust"} {
				json.NewEncoder(&b).Encode(flows.Record{EventType: "flow", Org: org})
			}
			w.Write(b.Bytes())
		}))
	})
}
