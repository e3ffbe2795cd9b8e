package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testServices is a services file for tests that only care about organisations.
const testServices = `services:
  web:
    to: [198.19.40.0/24]
    ports: ["443/tcp"]
  dns:
    to: [198.19.20.53/32]
    ports: ["53/udp", "53/tcp"]
remediation: [dns]
`

// writePolicy writes files (path relative to a new temp dir: content) and
// returns the dir. Paths are written with '/' and joined for the OS.
func writePolicy(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// relLines returns each finding as a line with dir's prefix cut off, so
// tests can spell expected positions as "org.yaml:3:5: ...".
func relLines(dir string, errs []*Error) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = strings.TrimPrefix(e.Error(), dir+string(filepath.Separator))
	}
	return out
}

// loadErrorsIn loads dir and returns the errors as relative lines; it
// fails the test if Load succeeds or fails with something other than an
// ErrorList.
func loadErrorsIn(t *testing.T, dir string) []string {
	t.Helper()
	p, err := Load(dir)
	if err == nil {
		t.Fatalf("Load succeeded, want errors; policy has %d orgs", len(p.Orgs))
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Load error is %T (%v), want ErrorList", err, err)
	}
	return relLines(dir, list)
}

// loadErrors writes files, adding testServices if there is no services
// file, and returns the errors of loading them.
func loadErrors(t *testing.T, files map[string]string) []string {
	t.Helper()
	if _, ok := files["services.yaml"]; !ok {
		files["services.yaml"] = testServices
	}
	return loadErrorsIn(t, writePolicy(t, files))
}

// sha8 is the first 8 hex digits of the SHA-256 of s.
func sha8(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// loadOK loads files and fails the test on any error.
func loadOK(t *testing.T, files map[string]string) (*Policy, string) {
	t.Helper()
	dir := writePolicy(t, files)
	p, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p, dir
}

func equalLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
