package progcost

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// boundary is a private datapath: its own pin directory, removed on close,
// so a benchmark never touches a running agent's state.
type boundary struct {
	dp  *datapath.Datapath
	pin string
}

// PinDir makes a fresh, unique bpffs directory name for a private datapath.
func PinDir() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return filepath.Join("/sys/fs/bpf", "palisade-bench-"+hex.EncodeToString(b))
}

// openBoundary loads the boundary program with forwarding off (allowed
// packets go to the stack: the cost measured is the policy's, not a FIB
// lookup's) and publishes c.
func openBoundary(c *policy.Compiled) (*boundary, error) {
	b := &boundary{pin: PinDir()}
	var err error
	b.dp, err = datapath.Open(datapath.Options{PinPath: b.pin})
	if err != nil {
		os.RemoveAll(b.pin)
		return nil, fmt.Errorf("open datapath: %w", err)
	}
	// The quota check still runs on every new flow; a quota the size of the
	// table lets one organisation open all the flows a part measures.
	quota := b.dp.Maps().Flows.MaxEntries()
	if err := b.dp.Configure(datapath.Settings{Forward: false, Timeouts: datapath.DefaultTimeouts(), FlowQuota: quota}); err != nil {
		b.close()
		return nil, err
	}
	if _, err := b.dp.Publish(c, nil); err != nil {
		b.close()
		return nil, fmt.Errorf("publish: %w", err)
	}
	return b, nil
}

func (b *boundary) close() {
	b.dp.Close()
	_ = datapath.Clean(b.pin)
}
