package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/palisade-psn/palisade/pkg/audit"
)

// The CLI finds the audit log in a config the agent would still refuse.
func TestAuditLogPath(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "palisaded.yaml")
	os.WriteFile(cfg, []byte("rules: /etc/palisade/rules\ninterfaces: []\naudit_log: /srv/audit.log\n"), 0o600)
	if p, err := AuditLogPath(cfg, true); err != nil || p != "/srv/audit.log" {
		t.Errorf("AuditLogPath = %q, %v", p, err)
	}
	os.WriteFile(cfg, []byte("interfaces: []\n"), 0o600)
	if p, err := AuditLogPath(cfg, true); err != nil || p != audit.DefaultPath {
		t.Errorf("no audit_log: %q, %v", p, err)
	}
	missing := filepath.Join(dir, "none.yaml")
	if p, err := AuditLogPath(missing, false); err != nil || p != audit.DefaultPath {
		t.Errorf("default config missing: %q, %v", p, err)
	}
	if _, err := AuditLogPath(missing, true); err == nil {
		t.Error("a config asked for by name and missing was not an error")
	}
}
