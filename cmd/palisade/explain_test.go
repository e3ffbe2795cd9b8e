package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExplainCommand(t *testing.T) {
	out, err := runCLI(t, "explain", "../../rules", "--from", "198.18.3.10@org1", "--to", "198.19.10.10:5005/udp")
	if err != nil || !strings.Contains(out, "verdict       allow") || !strings.Contains(out, "surrey-police/pnc-udp") {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
	out, err = runCLI(t, "explain", "../../rules", "--from", "198.18.3.10@org1", "--to", "198.19.10.10:443/tcp", "-o", "json")
	var e map[string]string
	if err != nil || json.Unmarshal([]byte(out), &e) != nil || e["verdict"] != "drop" || e["reason"] != "no_rule" {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
	if _, err := runCLI(t, "explain", "../../rules", "--from", "198.18.3.10", "--to", "198.19.10.10"); err == nil {
		t.Error("a destination without protocol was accepted")
	}
}

func TestTestCommand(t *testing.T) {
	out, err := runCLI(t, "test", "../../rules")
	if err != nil || !strings.Contains(out, " passed, 0 failed") {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
	dir := t.TempDir()
	copyDir(t, "../../rules", dir)
	tests := filepath.Join(dir, "tests.yaml")
	os.WriteFile(tests, []byte("tests:\n  - {from: 198.18.3.10@org1, to: 198.19.10.10:443/tcp, expect: allow}\n"), 0o644)
	out, err = runCLI(t, "test", dir)
	if err == nil || !strings.HasPrefix(out, tests+":2:6: FAIL ") || !strings.Contains(out, "expected allow, got drop") {
		t.Fatalf("a failing case: err %v, output:\n%s", err, out)
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
