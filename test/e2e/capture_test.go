package e2e

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/pkg/audit"
	"github.com/palisade-psn/palisade/pkg/capture"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// TestCapture records surrey-cc's traffic while it pings (allowed, replies
// included) and tries ssh (refused in XDP): tcpdump reads exactly those
// packets back, each carries its verdict, and the audit log holds the file's
// SHA-256 and who asked.
func TestCapture(t *testing.T) {
	for _, mode := range []datapath.Mode{datapath.Native, datapath.Generic} {
		t.Run(string(mode), func(t *testing.T) { testCapture(t, mode) })
	}
}

func testCapture(t *testing.T, mode datapath.Mode) {
	o := startObsLabMode(t, 100, mode)
	file := filepath.Join(o.dir, "out.pcapng")
	done := make(chan string, 1)
	go func() {
		out, err := o.agent.CLI("capture", "--org", "surrey-cc", "--duration", "60s", "--packets", "7", "-w", file)
		if err != nil {
			out = "ERROR " + err.Error() + "\n" + out
		}
		done <- out
	}()
	o.waitCapture(t, "running")
	pings(t, o.gw, "surrey", "198.18.1.10", "198.19.10.10", 3)
	refusedSYN(t, o.gw, "surrey", "198.18.1.10", "198.19.10.10:22")
	var out string
	select {
	case out = <-done:
	case <-time.After(90 * time.Second):
		t.Fatal("palisade capture did not finish")
	}
	if strings.HasPrefix(out, "ERROR") {
		t.Fatal(out)
	}
	lines := tcpdump(t, file)
	if len(lines) != 7 || count(lines, "ICMP echo request") != 3 || count(lines, "ICMP echo reply") != 3 ||
		count(lines, ".22: Flags [S]") != 1 {
		t.Fatalf("tcpdump -r read %d packets, want 3 echo requests, 3 replies and 1 SYN:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	comments := pcapngComments(t, file)
	if count(comments, "org=surrey-cc verdict=allow rule=surrey-cc/ping-services") != 6 ||
		count(comments, "org=surrey-cc verdict=drop reason=no_rule") != 1 {
		t.Errorf("packet comments:\n%s", strings.Join(comments, "\n"))
	}
	checkCustody(t, o, file, 1)
}

// TestCaptureThroughAPI starts a filtered capture, stops it, and fetches it
// (the responder's asynchronous path), as pcap for old tools.
func TestCaptureThroughAPI(t *testing.T) {
	o := startObsLab(t, 100)
	var started []capture.Info
	o.cliJSON(t, &started, "capture", "start", "--org", "surrey-cc", "--filter", "tcp and dst port 22", "--format", "pcap", "--duration", "5m")
	if len(started) != 1 || started[0].State != "running" {
		t.Fatalf("capture start = %+v", started)
	}
	pings(t, o.gw, "surrey", "198.18.1.10", "198.19.10.10", 2)
	refusedSYN(t, o.gw, "surrey", "198.18.1.10", "198.19.10.10:22")
	id := started[0].ID
	deadline := time.Now().Add(10 * time.Second)
	for o.captureInfo(t, id).Packets < 1 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	var stopped []capture.Info
	o.cliJSON(t, &stopped, "capture", "stop", id)
	if stopped[0].State != "done" || stopped[0].Stopped != "request" {
		t.Fatalf("after stop: %+v", stopped[0])
	}
	file := filepath.Join(o.dir, "api.pcap")
	o.cli(t, "capture", "fetch", id, "-w", file)
	if lines := tcpdump(t, file); len(lines) != 1 || !strings.Contains(lines[0], ".22: Flags [S]") {
		t.Fatalf("tcpdump -r of the filtered capture:\n%s", strings.Join(lines, "\n"))
	}
	checkCustody(t, o, file, 1)
	if i := o.captureInfo(t, id); i.Seen < 5 {
		t.Errorf("the datapath copied %d packets of surrey-cc, want the pings and the SYN (>= 5)", i.Seen)
	}
}

func (o *obsLab) captureInfo(t *testing.T, id string) capture.Info {
	t.Helper()
	var infos []capture.Info
	o.cliJSON(t, &infos, "capture", "list")
	for _, i := range infos {
		if i.ID == id {
			return i
		}
	}
	t.Fatalf("capture %s not listed", id)
	return capture.Info{}
}

// waitCapture waits until a capture is in state.
func (o *obsLab) waitCapture(t *testing.T, state string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		var infos []capture.Info
		if out, err := o.agent.CLI("capture", "list", "-o", "json"); err == nil && jsonInto(out, &infos) {
			for _, c := range infos {
				if c.State == state {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no capture became %s", state)
}

func tcpdump(t *testing.T, file string) []string {
	t.Helper()
	out, err := exec.Command("tcpdump", "-nn", "-r", file).Output()
	if err != nil {
		t.Fatalf("tcpdump -r %s: %v\n%s", file, err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func count(lines []string, sub string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

// pcapngComments reads every enhanced packet block's opt_comment.
func pcapngComments(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for len(b) >= 12 {
		typ, n := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
		if n < 12 || int(n) > len(b) {
			t.Fatalf("bad pcapng block length %d", n)
		}
		if typ == 6 {
			capLen := binary.LittleEndian.Uint32(b[20:])
			opts := b[28+(capLen+3)/4*4 : n-4]
			for len(opts) >= 4 {
				code, l := binary.LittleEndian.Uint16(opts), binary.LittleEndian.Uint16(opts[2:])
				if code == 1 {
					out = append(out, string(opts[4:4+l]))
				}
				opts = opts[4+(l+3)/4*4:]
			}
		}
		b = b[n:]
	}
	return out
}

// checkCustody finds the capture's SHA-256 in the audit log with the local
// user who asked, and checks the chain.
func checkCustody(t *testing.T, o *obsLab, file string, want int) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	recs, err := audit.Read(filepath.Join(o.dir, "audit.log"))
	if err != nil {
		t.Fatalf("read audit log: %v", err)
	}
	found := 0
	for _, r := range recs {
		if r.Action == "capture" && strings.Contains(string(r.Detail), hex.EncodeToString(sum[:])) {
			found++
			if r.User == "" || r.User == "unknown" || r.Subject != "surrey-cc" || r.Result != "ok" {
				t.Errorf("audit record %+v", r)
			}
		}
	}
	if found != want {
		t.Errorf("audit log holds %d capture records with the file's SHA-256, want %d: %+v", found, want, recs)
	}
}
