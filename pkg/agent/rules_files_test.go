package agent

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The agent reads its rules with the same loader as validate
// (rules.Load, in apply, Plan and CheckRules): a rules directory holding a
// link to /dev/zero or a FIFO named as a policy file is refused by name,
// without hanging the agent. Shown through palisaded -check-config.
func TestCheckRulesRefusesWhatIsNotAPolicyFile(t *testing.T) {
	for name, plant := range map[string]func(p string) error{
		"link to /dev/zero": func(p string) error { return os.Symlink("/dev/zero", p) },
		"FIFO":              func(p string) error { return syscall.Mkfifo(p, 0o644) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "services.yaml"), []byte("services:\n  web:\n    to: [198.19.40.0/24]\n    ports: [\"443/tcp\"]\n"), 0o644)
			if err := plant(filepath.Join(dir, "x.yaml")); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- CheckRules(&Config{Rules: dir}, io.Discard) }()
			select {
			case err := <-done:
				if want := filepath.Join(dir, "x.yaml") + ":1:1: is a "; err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Errorf("err = %v, want it to start %q", err, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("CheckRules still running after 10s: it is reading a file that never ends")
			}
		})
	}
}
