package agenttest

import (
	"testing"

	"github.com/cilium/ebpf/link"
)

// PinnedLink is the ID of the bpf_link pinned at pin and of the program it
// runs: what a takeover (restart, upgrade) must keep and change.
func PinnedLink(t testing.TB, pin string) (id, prog int) {
	t.Helper()
	l, err := link.LoadPinnedLink(pin, nil)
	if err != nil {
		t.Fatalf("pinned link %s: %v", pin, err)
	}
	defer l.Close()
	info, err := l.Info()
	if err != nil {
		t.Fatalf("link info %s: %v", pin, err)
	}
	return int(info.ID), int(info.Program)
}
