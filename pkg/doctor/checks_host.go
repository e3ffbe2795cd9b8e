package doctor

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/palisade-psn/palisade/pkg/inspect"
	"golang.org/x/sys/unix"
)

// minKernel is the oldest kernel the datapath loads on: XDP links (5.9)
// keep the boundary pinned and let an upgrade swap the program in place,
// and the flow table's clock is bpf_ktime_get_coarse_ns (5.11).
var minKernel = kernelVersion{5, 11}

func checkPrivileges(h Host) Result {
	if h.Privileged() {
		return ok("privileges", "CAP_BPF and CAP_NET_ADMIN held: every probe can run")
	}
	return warn("privileges", "not root (no CAP_BPF/CAP_NET_ADMIN): BPF and XDP probes cannot run, so their results say little; run doctor as root")
}

type kernelResult struct {
	result  Result
	version kernelVersion
	known   bool
}

var releaseRE = regexp.MustCompile(`^(\d+)\.(\d+)`)

func checkKernel(h Host) kernelResult {
	rel, err := h.KernelRelease()
	m := releaseRE.FindStringSubmatch(rel)
	if err != nil || m == nil {
		return kernelResult{result: warn("kernel", "cannot read the kernel release (%q, %v)", rel, err)}
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	k := kernelResult{version: kernelVersion{major, minor}, known: true}
	if !k.version.atLeast(minKernel.major, minKernel.minor) {
		k.result = fail("kernel", "%s: Palisade needs Linux %s or later (pinnable, updatable XDP links; bpf_ktime_get_coarse_ns)", rel, minKernel)
	} else {
		k.result = ok("kernel", "%s", rel)
	}
	return k
}

// What the datapath loads; the lists follow bpf/lib/maps.h and the helpers
// bpf/ calls.
var (
	neededMaps = []struct {
		t    ebpf.MapType
		name string
	}{
		{ebpf.Hash, "hash"}, {ebpf.Array, "array"}, {ebpf.LRUHash, "lru_hash"},
		{ebpf.DevMapHash, "devmap_hash"}, {ebpf.PerCPUArray, "percpu_array"},
	}
	neededHelpers = []struct {
		fn   asm.BuiltinFunc
		name string
	}{
		{asm.FnFibLookup, "fib_lookup"}, {asm.FnRedirectMap, "redirect_map"},
		{asm.FnKtimeGetCoarseNs, "ktime_get_coarse_ns"}, {asm.FnXdpAdjustMeta, "xdp_adjust_meta"},
	}
)

// checkBPFFeatures probes the program type, map types and helpers the
// datapath uses: a kernel built without one fails to load it.
func checkBPFFeatures(h Host) Result {
	var missing, unprobed []string
	note := func(what string, err error) {
		switch {
		case err == nil:
		case errors.Is(err, ebpf.ErrNotSupported):
			missing = append(missing, what)
		default:
			unprobed = append(unprobed, fmt.Sprintf("%s (%v)", what, err))
		}
	}
	note("program type xdp", h.HaveProgramType(ebpf.XDP))
	for _, m := range neededMaps {
		note("map "+m.name, h.HaveMapType(m.t))
	}
	for _, f := range neededHelpers {
		note("helper "+f.name, h.HaveHelper(ebpf.XDP, f.fn))
	}
	switch {
	case len(missing) > 0:
		return fail("bpf features", "the kernel lacks: %s", strings.Join(missing, ", "))
	case len(unprobed) > 0:
		return warn("bpf features", "could not probe: %s", strings.Join(unprobed, ", "))
	}
	return ok("bpf features", "xdp programs; hash, array, lru_hash, devmap_hash, percpu_array maps; fib_lookup, redirect_map, ktime_get_coarse_ns, xdp_adjust_meta helpers")
}

// checkBPFFS: the pins must live on bpffs. Under the systemd unit the agent
// has no CAP_SYS_ADMIN to mount it, so it must already be there.
func checkBPFFS(h Host, pinPath string) Result {
	dir := filepath.Dir(pinPath)
	magic, err := h.FSType(dir)
	switch {
	case err != nil:
		return fail("bpffs", "%s: %v; mount it: mount -t bpf bpf %s (systemd mounts /sys/fs/bpf at boot)", dir, err, dir)
	case magic != unix.BPF_FS_MAGIC:
		return fail("bpffs", "%s is not bpffs, so pins would not outlive the agent; mount -t bpf bpf %s (systemd mounts /sys/fs/bpf at boot)", dir, dir)
	}
	return ok("bpffs", "mounted at %s", dir)
}

const vmlinuxBTF = "/sys/kernel/btf/vmlinux"

// checkBTF: the datapath does not need kernel BTF today, but bpftool's
// readable map dumps and any CO-RE program later do.
func checkBTF(h Host) Result {
	if err := h.Stat(vmlinuxBTF); err != nil {
		return warn("btf", "%s missing (kernel without CONFIG_DEBUG_INFO_BTF): not needed by the datapath today; bpftool shows maps as raw bytes", vmlinuxBTF)
	}
	return ok("btf", "%s present", vmlinuxBTF)
}

func checkJIT(h Host) Result {
	v, err := h.JIT()
	switch v = strings.TrimSpace(v); {
	case err != nil:
		return warn("bpf jit", "cannot tell: %v", err)
	case v == "0":
		return warn("bpf jit", "off: the boundary runs interpreted, several times slower; sysctl net.core.bpf_jit_enable=1")
	case v == "2":
		return warn("bpf jit", "on with debug output to the kernel log; set net.core.bpf_jit_enable=1")
	}
	return ok("bpf jit", "on")
}

// checkMemlock: before 5.11 BPF maps count against RLIMIT_MEMLOCK, which the
// unit raises (LimitMEMLOCK=infinity) and the agent cannot raise itself
// without CAP_SYS_RESOURCE.
func checkMemlock(h Host, k kernelResult) Result {
	if k.known && k.version.atLeast(5, 11) {
		return ok("memlock", "not used: this kernel charges BPF memory to the cgroup")
	}
	lim, err := h.Memlock()
	switch {
	case err != nil:
		return warn("memlock", "cannot read RLIMIT_MEMLOCK: %v", err)
	case lim == unix.RLIM_INFINITY:
		return ok("memlock", "unlimited")
	}
	return warn("memlock", "%d KiB here: enough for the unit (LimitMEMLOCK=infinity), not for palisaded run by hand without `ulimit -l unlimited`", lim/1024)
}

// checkIptables: palisaded installs the inspector's NFQUEUE chain, and the
// guard that drops flagged packets while no inspector runs, with these at
// every start; without them it does not start.
func checkIptables(h Host) Result {
	var missing []string
	for _, cmd := range []string{"iptables", "ip6tables", "iptables-restore", "ip6tables-restore"} {
		if _, err := h.LookPath(cmd); err != nil {
			missing = append(missing, cmd)
		}
	}
	if len(missing) > 0 {
		return fail("iptables", "%s not found: palisaded installs its inspection chain with them at start (apt install iptables)", strings.Join(missing, ", "))
	}
	v, err := h.Output("iptables", "-V")
	v = strings.TrimSpace(v)
	switch {
	case err != nil:
		return warn("iptables", "present, but `iptables -V` failed: %v", err)
	case strings.Contains(v, "legacy"):
		// Measured: under the unit, iptables-restore (legacy) cannot
		// initialise the filter table without CAP_NET_RAW.
		return fail("iptables", "%s: the legacy backend needs CAP_NET_RAW, which the unit does not grant; switch to nf_tables: update-alternatives --set iptables /usr/sbin/iptables-nft (and ip6tables)", v)
	}
	return ok("iptables", "%s", v)
}

// checkQueuePath: where the boundary is attached, the inspector's queue
// path must be whole. palisaded's watcher puts back what goes missing
// within a second; a part missing here means it is not running, or
// cannot.
func checkQueuePath(h Host, t *target) Result {
	const name = "inspection queue path"
	if pinned, err := h.PinnedLinks(t.pinPath); err != nil || len(pinned) == 0 {
		return ok(name, "not attached here: palisaded installs it at start")
	}
	missing, err := h.QueuePath()
	switch {
	case err != nil:
		return warn(name, "cannot read it: %v", err)
	case len(missing) == 0:
		return ok(name, "mangle chain %s, its PREROUTING jump and the blackhole ip rules, IPv4 and IPv6", inspect.Chain)
	case slices.ContainsFunc(missing, func(p string) bool { return strings.HasSuffix(p, "blackhole") }):
		return fail(name, "missing %s: while the chain is also gone, fail-closed inspected flows would be forwarded uninspected; start palisaded (it restores them), or `ip rule add pref %d fwmark 0x50a10000/0xffffffff blackhole` (-4 and -6)",
			strings.Join(missing, ", "), inspect.BlackholePref)
	}
	return fail(name, "missing %s: inspected flows are not decided (fail-closed ones dropped by the blackhole rule, fail-open ones forwarded uninspected); palisaded restores it within a second when it runs: is it running?", strings.Join(missing, ", "))
}
