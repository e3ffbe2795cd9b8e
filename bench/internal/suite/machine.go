package suite

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/palisade-psn/palisade/bench/internal/results"
	"golang.org/x/sys/unix"
)

// describe says what the figures were measured on: ratios travel between
// machines, absolute figures do not, and neither means much without this.
func describe() results.Machine {
	m := results.Machine{
		CPU: cpuModel(), Cores: runtime.NumCPU(), Go: runtime.Version(),
		Virtualised: strings.Contains(read("/proc/cpuinfo"), " hypervisor"),
		Commit:      commit(),
		Backends: map[string]string{
			"nft":             tool("nft", "--version"),
			"iptables-legacy": tool("iptables-legacy", "-V"),
			"iptables-nft":    tool("iptables-nft", "-V"),
			"ipset":           tool("ipset", "--version"),
			"cilium/ebpf":     module("github.com/cilium/ebpf"),
		},
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	return m
}

// commit is the source the figures were measured from: -dirty when files
// other than the suite's own results differ from it (a run that follows
// an uncommitted run is not made dirty by that run's output).
func commit() string {
	c := tool("git", "describe", "--always")
	if c == "absent" {
		return c
	}
	out, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)bench/results").Output()
	if err == nil && len(strings.TrimSpace(string(out))) > 0 {
		c += "-dirty"
	}
	return c
}

func cpuModel() string {
	for _, line := range strings.Split(read("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func read(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// tool is the first line a command prints, or "absent" when it cannot run.
func tool(name string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return "absent"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func module(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "unknown"
}

// loadAverage is the 1-minute load: on a shared machine, others' work.
func loadAverage() string {
	f := strings.Fields(read("/proc/loadavg"))
	if len(f) == 0 {
		return "unknown"
	}
	return f[0]
}
