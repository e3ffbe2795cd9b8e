package datapath

import (
	"fmt"
	"time"
)

// Timeouts are how long an idle flow is remembered.
type Timeouts struct {
	TCPSyn         time.Duration // opened, no reply seen yet
	TCPEstablished time.Duration
	TCPClosing     time.Duration // after RST, or FIN both ways
	UDP            time.Duration
	ICMP           time.Duration
	Fragment       time.Duration // later fragments following their first
}

// DefaultTimeouts are close to the kernel conntrack's, shorter where a
// boundary should forget sooner.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		TCPSyn:         30 * time.Second,
		TCPEstablished: 2 * time.Hour,
		TCPClosing:     10 * time.Second,
		UDP:            60 * time.Second,
		ICMP:           30 * time.Second,
		Fragment:       5 * time.Second,
	}
}

// Settings are the run-time switches of the datapath.
type Settings struct {
	Forward  bool // forward allowed packets in XDP; off: the kernel stack does
	Timeouts Timeouts
	// FlowQuota is how many flows an organisation without a limit of its
	// own may hold; 0: the table's size over the number of organisations.
	// Taken at the next publish.
	FlowQuota uint32
}

func (dp *Datapath) readConfig() (BoundaryPalConfig, error) {
	var c BoundaryPalConfig
	if err := dp.objs.Config.Lookup(uint32(0), &c); err != nil {
		return c, fmt.Errorf("read datapath config: %w", err)
	}
	return c, nil
}

// initConfig gives a fresh config map its defaults; a pinned one that an
// earlier agent set up is left as it is.
func (dp *Datapath) initConfig() error {
	c, err := dp.readConfig()
	if err != nil {
		return err
	}
	if c.TcpEstablishedTimeoutS != 0 {
		return nil
	}
	return dp.Configure(Settings{Forward: true, Timeouts: DefaultTimeouts()})
}

// Configure applies settings, keeping the active policy generation.
func (dp *Datapath) Configure(s Settings) error {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	c, err := dp.readConfig()
	if err != nil {
		return err
	}
	c.Flags &^= uint32(BoundaryPalConfigFlagsPAL_CFG_FORWARD) // rate limits are the policy's (publish)
	if s.Forward {
		c.Flags |= uint32(BoundaryPalConfigFlagsPAL_CFG_FORWARD)
	}
	t := s.Timeouts
	c.TcpSynTimeoutS = secs(t.TCPSyn)
	c.TcpEstablishedTimeoutS = secs(t.TCPEstablished)
	c.TcpClosingTimeoutS = secs(t.TCPClosing)
	c.UdpTimeoutS = secs(t.UDP)
	c.IcmpTimeoutS = secs(t.ICMP)
	c.FragTimeoutS = secs(t.Fragment)
	if err := dp.objs.Config.Put(uint32(0), &c); err != nil {
		return fmt.Errorf("write datapath config: %w", err)
	}
	dp.flowQuota = s.FlowQuota
	return nil
}

func secs(d time.Duration) uint32 {
	if d < time.Second {
		return 1
	}
	return uint32(d / time.Second)
}

// PolicyState reads which policy generation is active.
func (dp *Datapath) PolicyState() (PolicyState, error) {
	c, err := dp.readConfig()
	if err != nil {
		return PolicyState{}, err
	}
	return policyState(c), nil
}

func policyState(c BoundaryPalConfig) PolicyState {
	return PolicyState{
		Loaded:     c.PolicyLoaded != 0,
		Generation: c.ActiveGen,
		Forwarding: c.Flags&uint32(BoundaryPalConfigFlagsPAL_CFG_FORWARD) != 0,
	}
}
