package install

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// container is a Debian root booted with systemd-nspawn: systemd as its
// PID 1, its own network namespace, and the host's bpffs bound in (the
// agent has no right to mount one, as on a real host where systemd did).
type container struct {
	root   string
	cmd    *exec.Cmd
	leader int // the container's PID 1, as the host sees it
}

func bootContainer(t *testing.T, root string) *container {
	t.Helper()
	name := fmt.Sprintf("palisade-test-%d", os.Getpid())
	c := &container{root: root}
	c.cmd = exec.Command("systemd-nspawn", "-D", root, "-b", "-M", name, "--register=no", "--keep-unit",
		"--private-network", "--capability=CAP_BPF,CAP_PERFMON", "--system-call-filter=bpf",
		"--bind=/sys/fs/bpf", "--console=pipe")
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("systemd-nspawn: %v", err)
	}
	t.Cleanup(c.shutdown)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if c.leader == 0 {
			c.leader = firstChild(c.cmd.Process.Pid)
		}
		if c.leader != 0 {
			out, _ := c.try("systemctl", "is-system-running")
			if s := strings.TrimSpace(out); s == "running" || s == "degraded" {
				return c
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("container did not finish booting within 60s")
	return nil
}

// firstChild is the first child of pid, 0 if none yet.
func firstChild(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// try runs a command inside the container, bounded in time.
func (c *container) try(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"-t", strconv.Itoa(c.leader), "-a", name}, args...)
	out, err := exec.CommandContext(ctx, "nsenter", full...).CombinedOutput()
	return string(out), err
}

// in runs a command inside the container and fails the test if it fails.
func (c *container) in(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := c.try(name, args...)
	if err != nil {
		t.Fatalf("in container: %s %v: %v\n%s", name, args, err, out)
	}
	return out
}

// shutdown powers the container off, and kills it if it does not go.
func (c *container) shutdown() {
	if c.leader != 0 {
		c.try("systemctl", "poweroff")
	}
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// mainPID is palisaded's PID inside the container (0 when not running).
func (c *container) mainPID(t *testing.T) int {
	t.Helper()
	n, _ := strconv.Atoi(strings.TrimSpace(c.in(t, "systemctl", "show", "-p", "MainPID", "--value", "palisaded")))
	return n
}

// waitActive waits until the unit is active, or fails with its journal.
func (c *container) waitActive(t *testing.T) {
	t.Helper()
	for range 100 {
		if out, _ := c.try("systemctl", "is-active", "palisaded"); strings.TrimSpace(out) == "active" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, _ := c.try("journalctl", "-b", "-u", "palisaded", "--no-pager", "-n", "30")
	t.Fatalf("palisaded not active:\n%s", out)
}
