package datapath

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// markLinkPrefix names the pinned tcx links beside the XDP ones in links/.
const markLinkPrefix = "tc-"

func (dp *Datapath) markPin(ifname string) string {
	return filepath.Join(dp.pinPath, "links", markLinkPrefix+ifname)
}

// attachMark puts tc_mark on ifname's tcx ingress, first in line, so an
// inspected packet's XDP metadata becomes skb->mark for netfilter. The link
// is pinned like the XDP one: without it, inspected packets would reach the
// stack unmarked and skip the inspector. A pinned link from an earlier agent
// gets this build's program swapped in, with no moment unmarked.
func (dp *Datapath) attachMark(ifname string, ifindex int) error {
	objs := MarkObjects{}
	if err := LoadMarkObjects(&objs, nil); err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return fmt.Errorf("load tc mark program: %+v", verr)
		}
		return fmt.Errorf("load tc mark program: %w", err)
	}
	defer objs.Close() // the link keeps the program alive
	if l, err := link.LoadPinnedLink(dp.markPin(ifname), nil); err == nil {
		defer l.Close()
		if err := l.Update(objs.TcMark); err != nil {
			return fmt.Errorf("replace tc mark program on %s: %w", ifname, err)
		}
		return nil
	}
	l, err := link.AttachTCX(link.TCXOptions{
		Interface: ifindex,
		Program:   objs.TcMark,
		Attach:    ebpf.AttachTCXIngress,
		Anchor:    link.Head(),
	})
	if err != nil {
		return fmt.Errorf("attach tc mark program to %s ingress: %w", ifname, err)
	}
	defer l.Close()
	if err := l.Pin(dp.markPin(ifname)); err != nil {
		return fmt.Errorf("pin tc mark link of %s: %w", ifname, err)
	}
	return nil
}

// detachMark unpins ifname's tcx link, if there is one.
func detachMark(pinPath, ifname string) error {
	p := filepath.Join(pinPath, "links", markLinkPrefix+ifname)
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := unpinLink(p); err != nil {
		return fmt.Errorf("detach tc mark from %s: %w", ifname, err)
	}
	return nil
}

func isMarkLink(name string) bool { return strings.HasPrefix(name, markLinkPrefix) }
