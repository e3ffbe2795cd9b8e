// Package install tests the Debian package the way an operator meets it:
// it builds two versions with deploy/mkdeb, installs the first into an
// empty root with dpkg, checks every file, mode, conffile and the unit,
// then upgrades, removes and purges, checking what the maintainer scripts
// asked systemd at each step. It needs root and dpkg, and skips otherwise.
package install

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestPackageLifecycle(t *testing.T) {
	requireDpkgRoot(t)
	repo := moduleRoot(t)
	debs := buildDebs(t, "v1.0.0", "v1.1.0")
	r := newDpkgRoot(t)
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	step("install", func(t *testing.T) {
		out := r.dpkg(t, "-i", debs[0])
		assertContains(t, "postinst output", out, "NOT attached", "systemctl enable --now palisaded")
		calls := r.calls(t)
		assertContains(t, "first install", calls, "daemon-reload")
		assertLacks(t, "first install", calls, "enable", "start", "restart")
		checkFiles(t, r, wantInstalled(t, repo))
		checkUnit(t, r.path("lib/systemd/system/palisaded.service"))
		for _, s := range []string{"postinst", "prerm", "postrm"} {
			checkFile(t, r, installed{path: "/var/lib/dpkg/info/palisade." + s, mode: 0o755,
				source: filepath.Join(repo, "deploy/debian", s)})
		}
	})
	step("binaries", func(t *testing.T) { checkBinaries(t, r, "v1.0.0") })
	step("completion", func(t *testing.T) { checkCompletion(t, r) })
	step("upgrade while running", func(t *testing.T) {
		cfg := r.path("etc/palisade/palisaded.yaml")
		edited := strings.Replace(mustRead(t, cfg), "interfaces: []", "interfaces: [org0]", 1)
		mustWrite(t, cfg, edited, 0o640)
		r.setActive(t, true)
		r.dpkg(t, "-i", debs[1])
		calls := r.calls(t)
		assertContains(t, "upgrade", calls, "try-restart palisaded.service")
		assertLacks(t, "upgrade", calls, " stop ", "disable", "enable")
		if mustRead(t, cfg) != edited {
			t.Error("the upgrade replaced the operator's palisaded.yaml")
		}
		checkVersion(t, r, "v1.1.0")
	})
	step("reinstall while stopped", func(t *testing.T) {
		r.setActive(t, false)
		r.dpkg(t, "-i", debs[1])
		assertLacks(t, "upgrade of a stopped agent", r.calls(t), "restart", "start")
	})
	step("remove", func(t *testing.T) {
		pin := r.path("sys/fs/bpf/palisade/links/org0")
		mustMkdir(t, filepath.Dir(pin))
		mustWrite(t, pin, "", 0o600) // a pinned link, as far as prerm can tell
		out := r.dpkg(t, "-r", "palisade")
		assertContains(t, "prerm output", out, "stays ATTACHED to: org0", "rm -r /sys/fs/bpf/palisade")
		assertContains(t, "remove", r.calls(t), "stop palisaded.service", "daemon-reload")
		if r.exists("usr/sbin/palisaded") || !r.exists("etc/palisade/palisaded.yaml") || !r.exists("sys/fs/bpf/palisade/links/org0") {
			t.Error("remove must delete the binaries, keep the conffiles and leave the pins")
		}
	})
	step("purge", func(t *testing.T) {
		mustMkdir(t, r.path("var/lib/palisade"))
		mustWrite(t, r.path("var/lib/palisade/audit.log"), "{}\n", 0o600)
		mustWrite(t, r.path("var/lib/palisade/scratch"), "", 0o600)
		mustMkdir(t, r.path("var/log/palisade"))
		mustWrite(t, r.path("var/log/palisade/flows.json"), "{}\n", 0o600)
		r.dpkg(t, "-P", "palisade")
		if r.exists("etc/palisade/palisaded.yaml") || r.exists("var/lib/palisade/scratch") || r.exists("var/log/palisade") {
			t.Error("purge left the config, the agent's state or its flow log")
		}
		if !r.exists("var/lib/palisade/audit.log") || !r.exists("sys/fs/bpf/palisade/links/org0") {
			t.Error("purge must keep the audit log and never touch the pins")
		}
	})
}

// checkBinaries runs what was installed: the version is stamped in, the
// binaries are static, and the default config is refused until an
// interface is named, while the shipped rules are valid.
func checkBinaries(t *testing.T, r *dpkgRoot, version string) {
	checkVersion(t, r, version)
	checkStatic(t, r.path("usr/sbin/palisaded"))
	checkStatic(t, r.path("usr/bin/palisade"))
	daemon := r.path("usr/sbin/palisaded")
	cfg := r.path("etc/palisade/palisaded.yaml")
	out, err := run(t, daemon, "-check-config", "-config", cfg)
	if err == nil || !strings.Contains(out, "at least one interface is required") {
		t.Errorf("default config accepted before interfaces are set (%v):\n%s", err, out)
	}
	text := mustRead(t, cfg)
	text = strings.Replace(text, "interfaces: []", "interfaces: [org0]", 1)
	text = strings.Replace(text, "rules: /etc/palisade/rules", "rules: "+r.path("etc/palisade/rules"), 1)
	configured := filepath.Join(t.TempDir(), "palisaded.yaml")
	mustWrite(t, configured, text, 0o600)
	if out, err := run(t, daemon, "-check-config", "-config", configured); err != nil || !strings.Contains(out, "config ok") {
		t.Errorf("default config with an interface set, over the shipped rules: %v\n%s", err, out)
	}
	if out, err := run(t, "man", "--warnings", "-l", r.path("usr/share/man/man8/palisaded.8.gz")); err != nil || strings.Contains(out, "warning") {
		t.Errorf("man palisaded: %v\n%.300s", err, out)
	}
}

func checkVersion(t *testing.T, r *dpkgRoot, version string) {
	t.Helper()
	out, err := run(t, r.path("usr/bin/palisade"), "version")
	if err != nil || !strings.Contains(out, version) {
		t.Errorf("palisade version = %q, %v; want %s", out, err, version)
	}
}
