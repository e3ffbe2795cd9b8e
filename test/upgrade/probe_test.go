package upgrade

import (
	"sync"
	"time"

	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/internal/scenario"
)

// What the upgrade runs under: allowed exchanges of each kind (IPv4 and
// IPv6 TCP, UDP, a VLAN organisation that is suspended but keeps its
// remediation service), and refused ones whose servers listen, so any of
// them succeeding means a packet the policy refuses went through.
var (
	allowedChecks = []scenario.Check{
		{Host: "surrey", Kind: "tcp", Src: "198.18.1.10", Dst: "198.19.10.10:443", Allow: true, Why: "surrey-cc: dwp-benefits"},
		{Host: "surrey", Kind: "tcp", Src: "2001:db8:1::10", Dst: "[2001:db8:10::10]:443", Allow: true, Why: "surrey-cc: dwp-benefits, IPv6"},
		{Host: "police", Kind: "udp", Src: "198.18.3.10", Dst: "198.19.10.10:5005", Allow: true, Why: "surrey-police: pnc-udp"},
		{Host: "elmbridge", Kind: "tcp", Src: "198.18.5.10", Dst: "198.19.20.10:443", Allow: true, Why: "suspended elmbridge-bc keeps patch-mirror"},
	}
	refusedChecks = []scenario.Check{
		{Host: "surrey", Kind: "tcp", Src: "198.18.1.10", Dst: "198.19.10.10:22", Why: "no rule for ssh"},
		{Host: "police", Kind: "udp", Src: "198.18.3.10", Dst: "198.19.10.10:6000", Why: "outside pnc's ports"},
		{Host: "elmbridge", Kind: "tcp", Src: "198.18.5.10", Dst: "198.19.10.10:443", Why: "suspended: no dwp-benefits"},
		{Host: "svcA", Kind: "tcp", Src: "198.19.10.10", Dst: "198.18.1.10:8080", Why: "unsolicited from a service"},
	}
)

const (
	probeEvery     = 20 * time.Millisecond
	allowedTimeout = time.Second
	refusedTimeout = 300 * time.Millisecond
	probeLimit     = 30 * time.Second // whatever the test does, probing ends
	maxInFlight    = 32               // per check: refused probes wait out their timeout
)

// attempt is one exchange and the phase of the upgrade it started in.
type attempt struct {
	check scenario.Check
	phase int
	err   error
}

// prober starts one exchange per check every probeEvery until stopped.
type prober struct {
	gw    *lab.Gateway
	mu    sync.Mutex
	phase int
	log   []attempt
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startProber(gw *lab.Gateway) *prober {
	p := &prober{gw: gw, stop: make(chan struct{})}
	for _, c := range allowedChecks {
		p.run(c, allowedTimeout)
	}
	for _, c := range refusedChecks {
		p.run(c, refusedTimeout)
	}
	return p
}

func (p *prober) setPhase(n int) {
	p.mu.Lock()
	p.phase = n
	p.mu.Unlock()
}

func (p *prober) run(c scenario.Check, timeout time.Duration) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		slots := make(chan struct{}, maxInFlight)
		tick := time.NewTicker(probeEvery)
		defer tick.Stop()
		deadline := time.After(probeLimit)
		var inFlight sync.WaitGroup
		defer inFlight.Wait()
		for {
			select {
			case <-p.stop:
				return
			case <-deadline:
				return
			case <-tick.C:
			}
			slots <- struct{}{}
			p.mu.Lock()
			phase := p.phase
			p.mu.Unlock()
			inFlight.Add(1)
			go func() {
				defer func() { <-slots; inFlight.Done() }()
				err := scenario.TryWithin(p.gw, c, timeout)
				p.mu.Lock()
				p.log = append(p.log, attempt{check: c, phase: phase, err: err})
				p.mu.Unlock()
			}()
		}
	}()
}

// finish stops probing and waits for every exchange in flight.
func (p *prober) finish() []attempt {
	close(p.stop)
	p.wg.Wait()
	return p.log
}
