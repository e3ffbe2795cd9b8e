package install

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/agenttest"
)

// TestUnderSystemd installs the package in a Debian root booted with
// systemd-nspawn and runs the unit for real: start with only its
// capabilities, reload, a package upgrade that swaps the program into the
// same pinned link, stop (enforcement and the inspection chain's stopped
// state stay), removal. It is opt-in, because it needs a bootable root:
//
//	debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,iproute2,iptables \
//	    bookworm /var/tmp/palisade-root http://deb.debian.org/debian
//	PALISADE_SYSTEMD_ROOT=/var/tmp/palisade-root go test ./test/install -run Systemd
//
// The root is left as it was found: the package is purged at the end.
func TestUnderSystemd(t *testing.T) {
	requireDpkgRoot(t)
	root := os.Getenv("PALISADE_SYSTEMD_ROOT")
	if root == "" {
		t.Skip("set PALISADE_SYSTEMD_ROOT to a bootable Debian root to run the unit under systemd")
	}
	if _, err := exec.LookPath("systemd-nspawn"); err != nil {
		t.Skip("needs systemd-nspawn (apt install systemd-container)")
	}
	debs := buildDebs(t, "v1.0.0", "v1.1.0")
	for i, d := range debs {
		mustWrite(t, filepath.Join(root, "root", fmt.Sprintf("palisade-%d.deb", i)), mustRead(t, d), 0o644)
	}
	t.Cleanup(func() {
		os.Remove(filepath.Join(root, "root", "palisade-0.deb"))
		os.Remove(filepath.Join(root, "root", "palisade-1.deb"))
	})
	pin := fmt.Sprintf("/sys/fs/bpf/palisade-systemd-%d", os.Getpid())
	t.Cleanup(func() { os.RemoveAll(pin) }) // the links go with their pins
	c := bootContainer(t, root)
	t.Cleanup(func() { c.try("dpkg", "-P", "palisade") })

	c.in(t, "dpkg", "-i", "/root/palisade-0.deb")
	c.in(t, "ip", "link", "add", "org0", "type", "veth", "peer", "name", "peer0")
	c.in(t, "ip", "link", "set", "org0", "up")
	c.in(t, "sed", "-i", "s/^interfaces: \\[\\]/interfaces: [org0]/; s#^pin_path: .*#pin_path: "+pin+"#", "/etc/palisade/palisaded.yaml")
	c.in(t, "systemctl", "enable", "--now", "palisaded")
	c.waitActive(t)
	waitJournal(t, c, "control API served", 1) // Type=notify: active once attached and published
	checkPrivileges(t, c.in(t, "cat", fmt.Sprintf("/proc/%d/status", c.mainPID(t))))
	linkID, prog := agenttest.PinnedLink(t, filepath.Join(pin, "links", "org0"))

	c.in(t, "systemctl", "reload", "palisaded")
	waitJournal(t, c, "policy published", 2)

	before := c.mainPID(t)
	out := c.in(t, "dpkg", "-i", "/root/palisade-1.deb")
	assertContains(t, "upgrade", out, "restarting palisaded")
	c.waitActive(t)
	waitJournal(t, c, "control API served", 2)
	newID, newProg := agenttest.PinnedLink(t, filepath.Join(pin, "links", "org0"))
	if c.mainPID(t) == before || newID != linkID || newProg == prog {
		t.Errorf("upgrade: agent %d -> %d, link %d -> %d, program %d -> %d; want a new agent, the same link, a new program",
			before, c.mainPID(t), linkID, newID, prog, newProg)
	}
	assertContains(t, "version", c.in(t, "palisade", "version"), "v1.1.0")

	c.in(t, "systemctl", "stop", "palisaded")
	if id, _ := agenttest.PinnedLink(t, filepath.Join(pin, "links", "org0")); id != linkID {
		t.Errorf("after stop the link is %d, want %d still attached", id, linkID)
	}
	assertContains(t, "inspection chain after stop", c.in(t, "iptables", "-t", "mangle", "-S", "PALISADE-INSPECT"), "-j DROP")
	assertContains(t, "blackhole rule after stop", c.in(t, "ip", "rule", "show"), "fwmark 0x50a10000 blackhole")
	assertLacks(t, "journal", c.in(t, "journalctl", "-b", "-u", "palisaded", "--no-pager"), "level=ERROR")
	assertContains(t, "remove", c.in(t, "dpkg", "-r", "palisade"), "stays ATTACHED to: org0")
}

// checkPrivileges: the agent holds exactly CAP_BPF, CAP_NET_ADMIN and
// CAP_PERFMON, and cannot gain more (status is its /proc/PID/status).
func checkPrivileges(t *testing.T, status string) {
	t.Helper()
	const want = "000000c000001000" // bits 12 (NET_ADMIN), 38 (PERFMON), 39 (BPF)
	for _, line := range []string{"CapEff:\t" + want, "CapBnd:\t" + want, "NoNewPrivs:\t1"} {
		if !strings.Contains(status, line) {
			t.Errorf("palisaded's /proc status lacks %q:\n%s", line, status)
		}
	}
}

// waitJournal waits until the agent's journal shows s at least n times.
func waitJournal(t *testing.T, c *container, s string, n int) {
	t.Helper()
	var out string
	for range 100 {
		out, _ = c.try("journalctl", "-b", "-u", "palisaded", "--no-pager", "-o", "cat")
		if strings.Count(out, s) >= n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("journal shows %q fewer than %d times:\n%s", s, n, out)
}
