package install

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildDebs builds one package per version with deploy/mkdeb, as `make
// package` does, and returns their paths in the same order.
func buildDebs(t *testing.T, versions ...string) []string {
	t.Helper()
	root := moduleRoot(t)
	out := t.TempDir()
	mkdeb := filepath.Join(out, "mkdeb")
	if o, err := goCmd(root, "build", "-o", mkdeb, "./deploy/mkdeb").CombinedOutput(); err != nil {
		t.Fatalf("build mkdeb: %v\n%s", err, o)
	}
	var debs []string
	for _, v := range versions {
		cmd := exec.Command(mkdeb, "-version", v, "-root", root, "-out", filepath.Join(out, v))
		cmd.Dir = root
		o, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mkdeb -version %s: %v\n%s", v, err, o)
		}
		debs = append(debs, strings.TrimSpace(string(o)))
	}
	return debs
}

func goCmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	return cmd
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || len(strings.TrimSpace(string(out))) == 0 {
		t.Fatalf("find module root: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func requireDpkgRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("install test: needs root (dpkg --root sets owners and modes as installed)")
	}
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("install test: needs dpkg (Debian or Ubuntu)")
	}
}
