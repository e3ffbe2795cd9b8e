package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/fsfault"
	"github.com/palisade-psn/palisade/pkg/audit"
	"github.com/palisade-psn/palisade/pkg/capture"
)

// TestAuditLogFault: with the audit log on a full disk, then on a
// read-only one, an operator's apply, suspension and capture are refused
// with the reason, and the boundary stays exactly as it was; a capture
// whose end cannot be recorded is not handed over; once the log can be
// written again the changes go through and the chain verifies.
func TestAuditLogFault(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces, BPF and a tmpfs")
	}
	disk := fsfault.Mount(t, 256<<10)
	log := filepath.Join(disk.Path, "audit.log")
	g := startLabRules(t, rulesVariant(t, nil), "", "watch_rules: false\naudit_log: "+log+"\n")
	b := rulesVariant(t, policyB)
	web := probe("surrey", "tcp", "198.18.1.10", "198.19.10.10:443", true)
	ntp := probe("police", "udp", "198.18.3.10", "198.19.20.123:123", false) // allowed by policy B only
	mustTry(t, g, web)

	for _, fault := range []struct {
		name, want string
		make, mend func()
	}{
		// A full disk still takes a record into the slack of the log's last
		// page; the test's own record fills that first.
		{"full", "no space left on device", func() { fillLastPage(t, log); disk.Fill() }, disk.Free},
		{"read-only", "read-only file system", disk.ReadOnly, disk.Writable},
	} {
		t.Run(fault.name, func(t *testing.T) {
			before := g.digests(t)
			fault.make()
			records := countLines(t, log)
			mended := false
			mend := func() {
				if !mended {
					mended = true
					fault.mend()
				}
			}
			defer mend()
			refused := func(prefix string, args ...string) {
				t.Helper()
				out, err := g.agent.CLI(args...)
				t.Logf("palisade %s: %s", strings.Join(args, " "), out)
				if err == nil || !strings.Contains(out, prefix+": cannot write the audit log") || !strings.Contains(out, fault.want) {
					t.Errorf("palisade %s: err %v, output:\n%s", strings.Join(args, " "), err, out)
				}
			}
			refused("not applied", "apply", b)
			refused("organisation surrey-cc not suspended", "org", "suspend", "surrey-cc", "--reason", "test")
			refused("capture not started", "capture", "start", "--org", "surrey-cc")
			if g.digests(t) != before {
				t.Errorf("digests changed: %v -> %v", before, g.digests(t))
			}
			mustTry(t, g, web) // not suspended
			mustTry(t, g, ntp) // policy B not published
			var caps []any
			if err := json.Unmarshal([]byte(g.cli(t, "capture", "list", "-o", "json")), &caps); err != nil || len(caps) != 0 {
				t.Errorf("captures after a refused start: %v %v", caps, err)
			}
			mend()
			if n := countLines(t, log); n != records {
				t.Errorf("the audit log went from %d to %d records while it could not be written", records, n)
			}
		})
	}

	// A capture recorded at its start whose file's SHA-256 cannot be
	// recorded at its end is not handed over, and its file is removed.
	var started []capture.Info
	if err := json.Unmarshal([]byte(g.cli(t, "capture", "start", "--org", "surrey-cc", "--duration", "2s", "-o", "json")), &started); err != nil || len(started) != 1 {
		t.Fatalf("capture start: %v %v", started, err)
	}
	fillLastPage(t, log)
	disk.Fill()
	var info capture.Info
	eventually(10*time.Second, func() bool {
		json.Unmarshal([]byte(g.cli(t, "capture", "list", "-o", "json")), &started)
		info = started[0]
		return info.State != "running"
	})
	disk.Free()
	if info.State != "failed" || !strings.Contains(info.Error, "not handed over") || info.SHA256 != "" {
		t.Errorf("capture whose custody could not be recorded: %+v", info)
	}
	if _, err := os.Stat(info.File); !os.IsNotExist(err) {
		t.Errorf("its file %s is still there: %v", info.File, err)
	}
	if out, err := g.agent.CLI("capture", "fetch", info.ID, "-w", filepath.Join(t.TempDir(), "x.pcapng")); err == nil {
		t.Errorf("fetched a capture outside the chain of custody: %s", out)
	}

	// Writable again: the same changes go through, recorded, on one chain.
	g.cli(t, "org", "suspend", "surrey-cc", "--reason", "test")
	web.Allow = false
	mustTry(t, g, web)
	g.cli(t, "apply", b)
	ntp.Allow = true
	mustTry(t, g, ntp)
	if out, want := g.cli(t, "audit", "verify"), fmt.Sprintf("ok: %d records", countLines(t, log)); !strings.HasPrefix(out, want) {
		t.Errorf("audit verify: %s", out)
	}

	// Taking the boundary off is recorded too, by the CLI in the agent's
	// log: refused while the log is read-only, the program stays attached.
	disk.ReadOnly()
	for _, args := range [][]string{{"detach"}, {"clean"}} {
		out, err := g.agent.CLI(append(args, "--config", g.agent.CfgPath)...)
		if err == nil || !strings.Contains(out, "not "+args[0]) || !strings.Contains(out, "cannot write the audit log") {
			t.Errorf("palisade %s with a read-only audit log: %v\n%s", args[0], err, out)
		}
	}
	disk.Writable()
	var st struct {
		Interfaces []any `json:"interfaces"`
	}
	json.Unmarshal([]byte(g.cli(t, "status", "-o", "json")), &st)
	if len(st.Interfaces) != len(g.gw.GWIfs) {
		t.Errorf("after a refused detach and clean, attached to %v", st.Interfaces)
	}
	web.Allow = true // the boundary off: nothing refuses it
	if err := g.agent.Stop(); err != nil {
		t.Fatal(err)
	}
	g.cli(t, "detach", "--config", g.agent.CfgPath)
	mustTry(t, g, web)
	recs, _ := audit.Read(log)
	if r := recs[len(recs)-1]; r.Action != "detach" || r.User != "root" || r.Subject != strings.Join(g.gw.GWIfs, ",") {
		t.Errorf("last audit record %+v", r)
	}
	if n, err := audit.Verify(log); err != nil {
		t.Errorf("audit chain after the CLI's record: %d, %v", n, err)
	}
}

// fillLastPage appends a record of its own that ends the log at a page
// boundary (the audit package chains it like any writer's).
func fillLastPage(t *testing.T, path string) {
	t.Helper()
	const page = 4096
	recs, err := audit.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	slack := (page - st.Size()%page) % page
	if slack == 0 {
		return
	}
	hash := strings.Repeat("0", 64)
	r := audit.Record{Seq: uint64(len(recs) + 1), Time: time.Date(2026, 1, 1, 0, 0, 0, 1, time.UTC), User: "test",
		Action: "pad", Result: "ok", Detail: audit.Detail(map[string]string{"pad": ""}), Prev: hash, Hash: hash}
	line, _ := json.Marshal(r)
	need := slack
	for need < int64(len(line)+1) {
		need += page
	}
	r.Detail = audit.Detail(map[string]string{"pad": strings.Repeat("x", int(need)-len(line)-1)})
	l, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(r); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Size()%page != 0 {
		t.Fatalf("padding left the log at %d bytes", st.Size())
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}
