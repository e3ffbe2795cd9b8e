package install

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dpkgRoot is an empty Debian root that dpkg installs into with --root. The
// maintainer scripts run outside it (--force-script-chrootless, which sets
// DPKG_ROOT for them), because the root has no shell of its own; systemctl
// and deb-systemd-invoke are fakes that log every call, and the root's
// /run/systemd/system makes the scripts believe systemd runs.
type dpkgRoot struct {
	dir    string // the root
	fake   string // fake commands, first in PATH
	log    string // what the fakes were asked
	active string // exists while "palisaded" counts as running
}

var fakeCommand = `#!/bin/sh
echo "$(basename "$0") $*" >> "$FAKE_LOG"
if [ "$1" = is-active ]; then [ -e "$FAKE_ACTIVE" ]; exit $?; fi
exit 0
`

func newDpkgRoot(t *testing.T) *dpkgRoot {
	t.Helper()
	base := t.TempDir()
	r := &dpkgRoot{dir: filepath.Join(base, "root"), fake: filepath.Join(base, "fake"),
		log: filepath.Join(base, "calls.log"), active: filepath.Join(base, "active")}
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "run/systemd/system"} {
		mustMkdir(t, filepath.Join(r.dir, d))
	}
	mustMkdir(t, r.fake)
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		mustWrite(t, filepath.Join(r.dir, f), "", 0o644)
	}
	for _, c := range []string{"systemctl", "deb-systemd-invoke"} {
		mustWrite(t, filepath.Join(r.fake, c), fakeCommand, 0o755)
	}
	return r
}

// dpkg runs dpkg on the root; iproute2 is the one dependency the empty root
// cannot satisfy, hence --force-depends.
func (r *dpkgRoot) dpkg(t *testing.T, args ...string) string {
	t.Helper()
	full := append([]string{"--root=" + r.dir, "--force-script-chrootless", "--force-depends",
		"--force-confold", "--log=/dev/null"}, args...)
	cmd := exec.Command("dpkg", full...)
	cmd.Env = append(os.Environ(), "PATH="+r.fake+":"+os.Getenv("PATH"), "FAKE_LOG="+r.log,
		"FAKE_ACTIVE="+r.active, "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// calls returns what the maintainer scripts asked systemd since last time.
func (r *dpkgRoot) calls(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(r.log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	os.Remove(r.log)
	return string(b)
}

func (r *dpkgRoot) path(p string) string { return filepath.Join(r.dir, p) }

func (r *dpkgRoot) setActive(t *testing.T, on bool) {
	t.Helper()
	if on {
		mustWrite(t, r.active, "", 0o644)
	} else {
		os.Remove(r.active)
	}
}

func (r *dpkgRoot) exists(p string) bool {
	_, err := os.Lstat(r.path(p))
	return err == nil
}

// run runs a command and returns its combined output.
func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func mustMkdir(t *testing.T, d string) {
	t.Helper()
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func assertContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func assertLacks(t *testing.T, what, got string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(got, b) {
			t.Errorf("%s has %q but must not:\n%s", what, b, got)
		}
	}
}
