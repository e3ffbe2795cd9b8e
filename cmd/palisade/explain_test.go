package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// noAgent is a control socket nothing listens on, in a directory that is
// also given as the (empty) pin path.
func noAgent(t *testing.T) string { return filepath.Join(t.TempDir(), "none.sock") }

func TestExplainCommand(t *testing.T) {
	sock := noAgent(t)
	out, err := runCLI(t, "--socket", sock, "--pin-path", filepath.Dir(sock), "explain", "../../rules", "--from", "198.18.3.10@org1", "--to", "198.19.10.10:5005/udp")
	if err != nil || !strings.Contains(out, "verdict       allow") || !strings.Contains(out, "surrey-police/pnc-udp") ||
		!strings.HasPrefix(out, "answering offline for the rules in ../../rules (palisaded is not running here): policy digest ") {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
	out, err = runCLI(t, "--socket", sock, "--pin-path", filepath.Dir(sock), "explain", "../../rules", "--from", "198.18.3.10@org1", "--to", "198.19.10.10:443/tcp", "-o", "json")
	var e struct {
		Verdict, Reason string
		Boundary        control.Boundary
	}
	if err != nil || json.Unmarshal([]byte(out), &e) != nil || e.Verdict != "drop" || e.Reason != "no_rule" ||
		e.Boundary.Source != "offline" || e.Boundary.PolicyDigest == "" {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
	if _, err := runCLI(t, "--socket", sock, "--pin-path", filepath.Dir(sock), "explain", "../../rules", "--from", "198.18.3.10", "--to", "198.19.10.10"); err == nil {
		t.Error("a destination without protocol was accepted")
	}
	if out, err := runCLI(t, "--socket", sock, "--pin-path", filepath.Dir(sock), "explain", "--from", "198.18.3.10", "--to", "198.19.10.10/icmp"); err == nil ||
		!strings.Contains(err.Error(), "not running") || !strings.Contains(err.Error(), "rules directory") {
		t.Errorf("no agent and no directory: err %v, output %s", err, out)
	}
}

// TestExplainOfflineNarrowsLapsedCertificates: offline, the rules are
// answered for as any gateway would enforce them now, a lapsed
// certificate included, and the first line says so.
func TestExplainOfflineNarrowsLapsedCertificates(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../../rules", dir)
	mole := filepath.Join(dir, "organisations", "mole-valley-dc.yaml")
	b, _ := os.ReadFile(mole)
	os.WriteFile(mole, []byte(strings.Replace(string(b), "state: active\n", "state: active\ncertificate: {expires: 2020-01-01}\n", 1)), 0o644)
	out, err := runCLI(t, "--pin-path", t.TempDir(), "--socket", noAgent(t), "explain", dir, "--offline", "--from", "198.18.2.10@org0", "--to", "198.19.10.10:443/tcp")
	for _, want := range []string{"(asked with --offline)", "1 organisation narrowed to remediation",
		"  mole-valley-dc: its compliance certificate expired at 2020-01-02T00:00:00Z", "verdict       drop", "drop reason   suspended",
		"its own rule mole-valley-dc/dwp-benefits would allow it once restored"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("lacks %q: err %v, output:\n%s", want, err, out)
		}
	}
}

// liveAgent answers /v1/explain as an agent would, with the example rules
// narrowed by ns (the agent's own code does this in the lab tests).
func liveAgent(t *testing.T, ns []policy.Narrowing) string {
	p, err := rules.Load("../../rules")
	if err != nil {
		t.Fatal(err)
	}
	c := policy.Compile(p).Narrow(ns)
	return fakeAgent(t, func(s *control.Server) {
		s.Handle("POST /v1/explain", func(r *http.Request) (any, error) {
			var in control.ExplainRequest
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				return nil, err
			}
			ans := &control.ExplainAnswer{Boundary: control.Boundary{Source: control.BoundaryRunning, Generation: 1,
				PolicyDigest: c.PolicyDigest, StateDigest: c.Digest, Narrowed: c.Narrowed}}
			for _, f := range in.Flows {
				ans.Explanations = append(ans.Explanations, c.Explain(f))
			}
			return ans, nil
		})
	})
}

var suspendedSurrey = []policy.Narrowing{{Org: "surrey-cc", Cause: policy.CauseSuspended, Reason: "patching lapsed", By: "root",
	Since: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}}

func TestExplainAnswersForTheRunningBoundary(t *testing.T) {
	sock := liveAgent(t, suspendedSurrey)
	out, err := runCLI(t, "--socket", sock, "--pin-path", filepath.Dir(sock), "explain", "--from", "198.18.1.10@org0", "--to", "198.19.10.10:443/tcp")
	for _, want := range []string{"answering for the running boundary: policy digest ", "generation 1, 1 organisation narrowed",
		"  surrey-cc: suspended with `palisade org suspend` by root", "verdict       drop", "patching lapsed"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("lacks %q: err %v, output:\n%s", want, err, out)
		}
	}
	if strings.Contains(out, "note:") {
		t.Errorf("a note without a directory:\n%s", out)
	}
	// A directory that is not the policy in force is named as such.
	dir := t.TempDir()
	copyDir(t, "../../rules", dir)
	os.Remove(filepath.Join(dir, "organisations", "nhs-trust.yaml"))
	out, err = runCLI(t, "--socket", sock, "--pin-path", filepath.Dir(sock), "explain", dir, "--from", "198.18.1.10@org0", "--to", "198.19.10.10:443/tcp")
	if err != nil || !strings.Contains(out, "note: the rules in "+dir+" (policy digest ") || !strings.Contains(out, "verdict       drop") {
		t.Errorf("err %v, output:\n%s", err, out)
	}
	out, err = runCLI(t, "--socket", sock, "--pin-path", filepath.Dir(sock), "explain", "../../rules", "--offline", "--from", "198.18.1.10@org0", "--to", "198.19.10.10:443/tcp")
	if err != nil || !strings.Contains(out, "verdict       allow") || !strings.Contains(out, "(asked with --offline)") {
		t.Errorf("--offline: err %v, output:\n%s", err, out)
	}
}

func TestTestCommand(t *testing.T) {
	sock := noAgent(t)
	out, err := runCLI(t, "--socket", sock, "--pin-path", filepath.Dir(sock), "test", "../../rules")
	if err != nil || !strings.Contains(out, " passed, 0 failed") || !strings.HasPrefix(out, "answering offline for the rules in ../../rules") {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
	dir := t.TempDir()
	copyDir(t, "../../rules", dir)
	tests := filepath.Join(dir, "tests.yaml")
	os.WriteFile(tests, []byte("tests:\n  - {from: 198.18.3.10@org1, to: 198.19.10.10:443/tcp, expect: allow}\n"), 0o644)
	out, err = runCLI(t, "--socket", sock, "--pin-path", filepath.Dir(sock), "test", dir)
	if err == nil || !strings.Contains(out, "\n"+tests+":2:6: FAIL ") || !strings.Contains(out, "expected allow, got drop") ||
		strings.Contains(out, "runtime state") {
		t.Fatalf("a failing case: err %v, output:\n%s", err, out)
	}
}

// TestTestCommandMarksFailuresOfTheRunningState: against a boundary where
// surrey-cc is suspended, its cases fail, each marked as passing on the
// rules as written, and the summary counts them.
func TestTestCommandMarksFailuresOfTheRunningState(t *testing.T) {
	sock := liveAgent(t, suspendedSurrey)
	out, err := runCLI(t, "--socket", sock, "--pin-path", filepath.Dir(sock), "test", "../../rules")
	if err == nil || !strings.Contains(out, "answering for the running boundary") ||
		!strings.Contains(out, "tests.yaml:7:6: FAIL 198.18.1.10@org0 -> 198.19.10.10:443/tcp: expected allow, got drop (suspended: surrey-cc is suspended with `palisade org suspend` by root") ||
		!strings.Contains(out, "[runtime state: passes on the rules in ../../rules as written]") ||
		!strings.Contains(out, " failed (6 of them only by the runtime state: the rules alone pass them)") {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
	out, err = runCLI(t, "--socket", sock, "--pin-path", filepath.Dir(sock), "test", "../../rules", "-o", "json")
	var r testReport
	if err == nil || json.Unmarshal([]byte(out), &r) != nil || r.ByState != 6 || r.Failed != 6 || r.Boundary.Source != "running" {
		t.Fatalf("json: err %v, %+v\n%s", err, r, out)
	}
	if out, err := runCLI(t, "--socket", sock, "--pin-path", filepath.Dir(sock), "test", "../../rules", "--offline"); err != nil || !strings.Contains(out, " passed, 0 failed") {
		t.Fatalf("--offline: err %v, output:\n%s", err, out)
	}
}

func TestPlanOffline(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../../rules", dir)
	mole := filepath.Join(dir, "organisations", "mole-valley-dc.yaml")
	b, _ := os.ReadFile(mole)
	os.WriteFile(mole, []byte(strings.Replace(string(b), "state: active\n", "state: active\ncertificate: {expires: 2020-01-01}\n", 1)), 0o644)
	out, err := runCLI(t, "--pin-path", t.TempDir(), "--socket", noAgent(t), "plan", dir, "--against", "../../rules")
	for _, want := range []string{"answering offline for the rules in ../../rules (asked with --offline)",
		"  - flows mole-valley-dc -> 198.19.10.0/24 443/tcp: allow by mole-valley-dc/dwp-benefits => drop",
		"  ! mole-valley-dc stays narrowed to remediation (its compliance certificate expired at 2020-01-02T00:00:00Z)"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("lacks %q: err %v, output:\n%s", want, err, out)
		}
	}
	if _, err := runCLI(t, "--pin-path", t.TempDir(), "--socket", noAgent(t), "plan", dir); err == nil || !strings.Contains(err.Error(), "--offline --against") {
		t.Errorf("no agent: err %v", err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTestCommandSendsManyCasesInBatches: a test file larger than one
// request is decided in batches, all with the same state.
func TestTestCommandSendsManyCasesInBatches(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../../rules", dir)
	var b strings.Builder
	b.WriteString("tests:\n")
	for i := 0; i < 5000; i++ {
		b.WriteString("  - {from: 198.18.1.10@org0, to: 198.19.10.10:443/tcp, expect: deny}\n")
	}
	os.WriteFile(filepath.Join(dir, "tests.yaml"), []byte(b.String()), 0o644)
	out, err := runCLI(t, "--socket", liveAgent(t, suspendedSurrey), "test", dir)
	if err != nil || !strings.Contains(out, "5000 passed, 0 failed") {
		t.Fatalf("err %v, output:\n%s", err, out[:min(len(out), 2000)])
	}
}
