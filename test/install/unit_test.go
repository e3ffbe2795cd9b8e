package install

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// unitDirectives reads a systemd unit into section.key -> values.
func unitDirectives(text string) map[string][]string {
	d := map[string][]string{}
	section := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, _ := strings.Cut(line, "=")
			d[section+"."+k] = append(d[section+"."+k], v)
		}
	}
	return d
}

// wantUnit is what the installed unit must say: how palisaded runs, and
// the least privilege and hardening it runs with.
var wantUnit = map[string]string{
	"Unit.After":                      "network-online.target",
	"Service.Type":                    "notify",
	"Service.NotifyAccess":            "main",
	"Service.ExecStart":               "/usr/sbin/palisaded -config /etc/palisade/palisaded.yaml",
	"Service.ExecReload":              "/bin/kill -HUP $MAINPID",
	"Service.Restart":                 "on-failure",
	"Service.KillMode":                "mixed",
	"Service.SystemCallFilter":        "@system-service bpf",
	"Service.ProtectProc":             "invisible",
	"Service.CapabilityBoundingSet":   "CAP_BPF CAP_NET_ADMIN CAP_PERFMON",
	"Service.AmbientCapabilities":     "CAP_BPF CAP_NET_ADMIN CAP_PERFMON",
	"Service.NoNewPrivileges":         "yes",
	"Service.LimitMEMLOCK":            "infinity",
	"Service.ProtectSystem":           "strict",
	"Service.ReadWritePaths":          "/sys/fs/bpf",
	"Service.StateDirectory":          "palisade",
	"Service.RuntimeDirectory":        "palisade",
	"Service.LogsDirectory":           "palisade",
	"Service.ProtectHome":             "yes",
	"Service.PrivateTmp":              "yes",
	"Service.RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
	"Service.RestrictSUIDSGID":        "yes",
	"Service.SystemCallArchitectures": "native",
	"Install.WantedBy":                "multi-user.target",
}

func checkUnit(t *testing.T, path string) {
	t.Helper()
	text := mustRead(t, path)
	d := unitDirectives(text)
	for k, want := range wantUnit {
		if got := d[k]; !slices.Contains(got, want) {
			t.Errorf("unit: %s = %q, want %q", k, got, want)
		}
	}
	if strings.Contains(strings.Join(d["Service.CapabilityBoundingSet"], " "), "SYS_ADMIN") {
		t.Error("unit grants CAP_SYS_ADMIN")
	}
	if d["Service.ProtectKernelTunables"] != nil {
		t.Error("unit sets ProtectKernelTunables, which makes /sys/fs/bpf read-only: nothing could be pinned")
	}
	if d["Service.User"] != nil || d["Service.ExecStop"] != nil {
		t.Errorf("unit sets User= or ExecStop= (%v, %v): stopping must only signal the agent", d["Service.User"], d["Service.ExecStop"])
	}
	verifyUnit(t, path)
}

// verifyUnit runs systemd-analyze verify. The binary it names is in the
// test's root, not on this host, so that one complaint is expected.
func verifyUnit(t *testing.T, path string) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("systemd-analyze not installed: unit syntax not verified")
		return
	}
	out, _ := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !strings.Contains(line, "Command /usr/sbin/palisaded is not executable") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
}
