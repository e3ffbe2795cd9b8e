package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-psn/palisade/pkg/audit"
)

func TestAuditFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"apply", "suspend"} {
		if _, err := l.Append(audit.Record{User: "root", Action: a, Subject: "surrey-cc", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runCLI(t, "audit", "--file", path)
	if err != nil || !strings.Contains(out, "suspend") || !strings.Contains(out, "root") {
		t.Fatalf("audit --file: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "audit", "verify", "--file", path); err != nil || !strings.HasPrefix(out, "ok: 2 records") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(b), `"suspend"`, `"restore"`, 1)), 0o640)
	if out, err := runCLI(t, "audit", "verify", "--file", path); err == nil || !strings.Contains(out, "was edited") {
		t.Fatalf("verify of an edited log: %v\n%s", err, out)
	}
}
