package upgrade

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/palisade-psn/palisade/internal/agenttest"
	"github.com/palisade-psn/palisade/internal/lab"
)

// attachment is what the kernel says is on one interface: the pinned
// link, the program it runs, and what ip(8) sees attached.
type attachment struct {
	linkID, linkProg int // the pinned bpf_link and its program
	ipProg, ipMode   int // the XDP program ip(8) reports, XDP_ATTACHED_*
	ipProgs          int // how many XDP programs ip(8) lists
}

func (a attachment) String() string {
	return fmt.Sprintf("link %d running prog %d; ip: prog %d mode %d (%d attached)", a.linkID, a.linkProg, a.ipProg, a.ipMode, a.ipProgs)
}

// snapshot reads every interface's attachment.
func snapshot(t *testing.T, gw *lab.Gateway, pinPath string) map[string]attachment {
	t.Helper()
	out := map[string]attachment{}
	for _, ifname := range gw.GWIfs {
		var a attachment
		a.linkID, a.linkProg = agenttest.PinnedLink(t, filepath.Join(pinPath, "links", ifname))
		a.ipProg, a.ipMode, a.ipProgs = ipXDP(t, gw.GW, ifname)
		out[ifname] = a
	}
	return out
}

// ipXDP asks ip(8), as an operator would, inside the gateway namespace.
func ipXDP(t *testing.T, ns *lab.NS, ifname string) (prog, mode, count int) {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns.Name, "-j", "-d", "link", "show", "dev", ifname).Output()
	if err != nil {
		t.Fatalf("ip link show %s: %v", ifname, err)
	}
	var links []struct {
		XDP *struct {
			Mode     int               `json:"mode"`
			Prog     *struct{ ID int } `json:"prog"`
			Attached []struct {
				Prog struct{ ID int } `json:"prog"`
			} `json:"attached"`
		} `json:"xdp"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		t.Fatalf("ip link show %s: %v\n%s", ifname, err, out)
	}
	x := links[0].XDP
	if x == nil {
		return 0, 0, 0
	}
	count = len(x.Attached)
	if x.Prog != nil {
		prog = x.Prog.ID
		count = max(count, 1)
	}
	return prog, x.Mode, count
}

// bpftoolLink is `bpftool link show id N`, when bpftool is installed: the
// same link seen with the tool operators use.
func bpftoolLink(t *testing.T, id int) (kind string, prog int, ok bool) {
	t.Helper()
	if _, err := exec.LookPath("bpftool"); err != nil {
		return "", 0, false
	}
	out, err := exec.Command("bpftool", "-j", "link", "show", "id", strconv.Itoa(id)).Output()
	if err != nil {
		t.Fatalf("bpftool link show id %d: %v", id, err)
	}
	var l struct {
		Type   string `json:"type"`
		ProgID int    `json:"prog_id"`
	}
	if err := json.Unmarshal(out, &l); err != nil {
		t.Fatalf("bpftool output: %v\n%s", err, out)
	}
	return l.Type, l.ProgID, true
}
