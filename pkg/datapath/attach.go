package datapath

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	"github.com/cilium/ebpf/link"
)

// Mode is how XDP runs on an interface.
type Mode string

const (
	// Native runs in the driver, before any socket buffer exists.
	Native Mode = "native"
	// Generic runs after the kernel built a socket buffer: correct, but
	// slow; only for drivers without XDP support.
	Generic Mode = "generic"
)

// Attachment is the program on one interface.
type Attachment struct {
	Interface string
	Ifindex   int
	Mode      Mode
	Replaced  bool // an earlier agent's pinned link was taken over
}

func (dp *Datapath) linkPin(ifname string) string {
	return filepath.Join(dp.pinPath, "links", ifname)
}

// Attach puts the boundary program on ifname and pins the link, so the
// program stays when the agent exits. If a pinned link is already there
// (an earlier agent), its program is swapped for this one atomically: no
// packet goes unfiltered during a restart or upgrade.
func (dp *Datapath) Attach(ifname string, mode Mode) (Attachment, error) {
	ifindex, err := ifindexOf(ifname)
	if err != nil {
		return Attachment{}, fmt.Errorf("attach xdp to %s: %w", ifname, err)
	}
	a := Attachment{Interface: ifname, Ifindex: ifindex, Mode: mode}
	defer dp.nowLive()
	if l, err := link.LoadPinnedLink(dp.linkPin(ifname), nil); err == nil {
		defer l.Close()
		if err := l.Update(dp.objs.XdpBoundary); err != nil {
			return a, fmt.Errorf("replace program on %s: %w", ifname, err)
		}
		a.Replaced = true
		if m, err := XDPMode(ifname); err == nil {
			a.Mode = m
		}
		return a, errors.Join(dp.attachMark(ifname, ifindex), dp.addTxPort(ifindex))
	}
	flags := link.XDPDriverMode
	if mode == Generic {
		flags = link.XDPGenericMode
	}
	l, err := link.AttachXDP(link.XDPOptions{Program: dp.objs.XdpBoundary, Interface: ifindex, Flags: flags})
	if err != nil {
		return a, fmt.Errorf("attach xdp (%s mode) to %s: %w", mode, ifname, err)
	}
	defer l.Close()
	if err := l.Pin(dp.linkPin(ifname)); err != nil {
		return a, fmt.Errorf("pin xdp link of %s: %w", ifname, err)
	}
	return a, errors.Join(dp.attachMark(ifname, ifindex), dp.addTxPort(ifindex))
}

// nowLive records that a link runs this program: its tables are in use,
// and later publishes go through the idle generation.
func (dp *Datapath) nowLive() {
	dp.mu.Lock()
	dp.fresh = false
	dp.mu.Unlock()
}

func (dp *Datapath) addTxPort(ifindex int) error {
	if err := dp.objs.TxPorts.Put(uint32(ifindex), uint32(ifindex)); err != nil {
		return fmt.Errorf("add ifindex %d to redirect ports: %w", ifindex, err)
	}
	return nil
}

// Detach removes the program from ifname: its pinned link is unpinned, and
// the link (with the program) goes when the last handle closes.
func Detach(pinPath, ifname string) error {
	if err := detachMark(pinPath, ifname); err != nil {
		return err
	}
	if err := unpinLink(filepath.Join(pinPath, "links", ifname)); err != nil {
		return fmt.Errorf("detach %s: %w", ifname, err)
	}
	return nil
}

// unpinLink removes a link's pin; the link goes with its last handle.
func unpinLink(pin string) error {
	l, err := link.LoadPinnedLink(pin, nil)
	if err != nil {
		return fmt.Errorf("no pinned link: %w", err)
	}
	defer l.Close()
	return l.Unpin()
}

// Clean detaches every interface and removes all pinned state.
func Clean(pinPath string) error {
	names, err := PinnedLinks(pinPath)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		errs = append(errs, Detach(pinPath, n))
	}
	errs = append(errs, os.RemoveAll(pinPath))
	return errors.Join(errs...)
}

// Attached lists the interfaces with a pinned link.
func (dp *Datapath) Attached() ([]string, error) {
	return PinnedLinks(dp.pinPath)
}

// PinnedLinks lists interfaces with a pinned link under pinPath, without
// loading anything (for `palisade status` and `palisade detach`).
func PinnedLinks(pinPath string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(pinPath, "links"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if isMarkLink(e.Name()) {
			continue // the tc half of an interface's attachment
		}
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out, nil
}

// XDPMode asks the kernel how XDP is attached to ifname.
func XDPMode(ifname string) (Mode, error) {
	out, err := exec.Command("ip", "-j", "-d", "link", "show", "dev", ifname).Output()
	if err != nil {
		return "", fmt.Errorf("ip link show %s: %w", ifname, err)
	}
	var links []struct {
		XDP *struct {
			Mode int `json:"mode"`
		} `json:"xdp"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		return "", fmt.Errorf("ip link show %s: unexpected output", ifname)
	}
	switch {
	case links[0].XDP == nil:
		return "", fmt.Errorf("no xdp program on %s", ifname)
	case links[0].XDP.Mode == 2: // XDP_ATTACHED_SKB
		return Generic, nil
	case links[0].XDP.Mode == 1: // XDP_ATTACHED_DRV
		return Native, nil
	}
	return Mode(fmt.Sprintf("mode-%d", links[0].XDP.Mode)), nil
}
