package throughput

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/palisade-psn/palisade/bench/internal/engines"
	"github.com/palisade-psn/palisade/bench/internal/progcost"
	"github.com/palisade-psn/palisade/bench/internal/results"
	"github.com/palisade-psn/palisade/bench/internal/synth"
	"github.com/palisade-psn/palisade/bench/internal/trafficgen"
	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// The contention scenario (issue 17): one organisation's allowed packet
// stream, paced, while another floods refused and quota-exceeding SYNs
// at the generator's full rate into the same boundary program, the same
// flow table and counters. Each organisation enters on its own veth (its
// own receive ring and NAPI thread, both on the receiver CPU), as on a NIC
// whose ports or queues keep them apart: on one shared ring, the ring's
// drops would hit both alike before any program ran.
const (
	contentionRules = 1000
	quietPps        = 50_000 // the quiet stream's pace: a few per cent of a receiver CPU
	quietFlows      = 64
	floodQuota      = 64 // the flooding organisation's flow quota
	quietIf         = "bq"
	pacerTick       = time.Millisecond
)

// contention is the scenario's lab: one boundary, two links into it.
type contention struct {
	dp                 *datapath.Datapath
	pin                string
	flood, quiet       *engines.Pair
	floodGen, quietGen *trafficgen.Generator
	quietOrg, floodOrg string
	res                *results.Contention
}

// RunContention measures the quiet organisation's allowed packets per
// second alone and beside the flood, round by round (the order rotates).
func RunContention(ctx context.Context, cfg Config) (*results.Contention, error) {
	l, err := lab.New("pq")
	if err != nil {
		return nil, err
	}
	defer l.Close()
	s := &contention{}
	defer s.close()
	if err := s.setup(l, cfg); err != nil {
		return nil, fmt.Errorf("contention lab: %w", err)
	}
	for r := 0; r < cfg.Rounds; r++ {
		for k := 0; k < 2; k++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			flooded := (k+r)%2 == 1
			if err := s.window(cfg, flooded); err != nil {
				return nil, fmt.Errorf("contention round %d: %w", r+1, err)
			}
		}
	}
	if err := s.finish(); err != nil {
		return nil, err
	}
	return s.res, nil
}

func (s *contention) setup(l *lab.Lab, cfg Config) error {
	var err error
	if s.flood, err = engines.NewPair(l, 1); err != nil {
		return err
	}
	qns, err := l.NS("q")
	if err != nil {
		return err
	}
	if err := qns.Sysctl("net.ipv6.conf.all.disable_ipv6", "1"); err != nil {
		return err
	}
	if err := l.Veth(qns, "tx0", s.flood.FW, quietIf); err != nil {
		return err
	}
	s.quiet = &engines.Pair{Gen: qns, FW: s.flood.FW, TxIf: "tx0", RxIf: quietIf}
	set := synth.Generate(contentionRules)
	floodRule, quietRule, err := twoTCPRules(set)
	if err != nil {
		return err
	}
	s.floodOrg, s.quietOrg = synth.OrgID(floodRule.Org), synth.OrgID(quietRule.Org)
	pol := set.Policy(s.flood.RxIf)
	for _, o := range pol.Orgs {
		switch o.ID {
		case s.quietOrg:
			o.Ingress = []rules.Ingress{{Interface: quietIf}}
		case s.floodOrg:
			o.Limits = &rules.Limits{Flows: floodQuota}
		}
	}
	c := policy.Compile(pol)
	// The program's reverse-path check wants each organisation's sources
	// routed back out of its own link, as on a gateway.
	for _, rt := range []struct {
		org    int
		ifname string
	}{{floodRule.Org, s.flood.RxIf}, {quietRule.Org, quietIf}} {
		if _, err := s.flood.FW.Exec(context.Background(), "ip", "route", "add", synth.OrgSource4(rt.org).String(), "dev", rt.ifname); err != nil {
			return fmt.Errorf("route %s's sources to %s: %w", synth.OrgID(rt.org), rt.ifname, err)
		}
	}
	if err := s.open(c); err != nil {
		return err
	}
	for _, p := range []*engines.Pair{s.flood, s.quiet} {
		if err := p.ThreadNAPI(cfg.RecvCPU); err != nil {
			return err
		}
	}
	if s.quiet.RxMAC, err = s.quiet.FW.MAC(quietIf); err != nil {
		return err
	}
	if s.floodGen, err = generator(s.flood, floodFrames(floodRule)); err != nil {
		return err
	}
	if s.quietGen, err = generator(s.quiet, quietFrames(quietRule)); err != nil {
		return err
	}
	s.res = &results.Contention{Rules: contentionRules, Rounds: cfg.Rounds, WindowSeconds: cfg.Burst.Seconds(),
		QuietOrg: s.quietOrg, FloodOrg: s.floodOrg, QuietPacePps: quietPps, QuietFlows: quietFlows,
		FloodQuota: floodQuota, FloodFrames: trafficgen.MaxFrames, FloodRefused: map[string]uint64{}}
	return nil
}

// open loads one boundary, publishes c and attaches it to both links.
func (s *contention) open(c *policy.Compiled) error {
	s.pin = progcost.PinDir()
	var err error
	if s.dp, err = datapath.Open(datapath.Options{PinPath: s.pin}); err != nil {
		return fmt.Errorf("open datapath: %w", err)
	}
	return s.flood.FW.Do(func() error {
		res, err := s.dp.Publish(c, []string{s.flood.RxIf, quietIf, "eg0"})
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		if len(res.Skipped) > 0 {
			return fmt.Errorf("publish skipped ingresses %v", res.Skipped)
		}
		for _, ifname := range []string{s.flood.RxIf, quietIf} {
			if _, err := s.dp.Attach(ifname, datapath.Native); err != nil {
				return err
			}
		}
		return nil
	})
}

// twoTCPRules picks the first two rules, of two organisations, that allow
// TCP without inspection: the flooder's and the quiet one's.
func twoTCPRules(set *synth.Set) (flood, quiet synth.Rule, err error) {
	var found []synth.Rule
	for _, r := range set.Rules {
		if r.Proto == rules.ProtoTCP && !r.Inspect && (len(found) == 0 || found[0].Org != r.Org) {
			if found = append(found, r); len(found) == 2 {
				return found[0], found[1], nil
			}
		}
	}
	return flood, quiet, errors.New("the synthetic set has no two TCP rules of two organisations")
}

func ruleTuple(r synth.Rule, sport, dport uint16) synth.Tuple {
	return synth.Tuple{Src: synth.OrgSource4(r.Org).Addr().Next(), Dst: r.Dst4.Addr(),
		Proto: uint8(r.Proto), SPort: sport, DPort: dport}
}

// quietFrames are SYNs of quietFlows allowed flows: the first of each
// opens it, every later one is a flow hit.
func quietFrames(r synth.Rule) []synth.Tuple {
	out := make([]synth.Tuple, quietFlows)
	for i := range out {
		out[i] = ruleTuple(r, uint16(20000+i), r.Port)
	}
	return out
}

// floodFrames alternate a SYN the organisation's rule refuses (another
// port: no_rule after every lookup) and one it allows, each from its own
// port: past its quota of flows, refused as flow_quota.
func floodFrames(r synth.Rule) []synth.Tuple {
	refusedPort := r.Port + 1
	out := make([]synth.Tuple, trafficgen.MaxFrames)
	for i := range out {
		dport := r.Port
		if i%2 == 1 {
			dport = refusedPort
		}
		out[i] = ruleTuple(r, uint16(1024+i), dport)
	}
	return out
}

func generator(p *engines.Pair, ts []synth.Tuple) (*trafficgen.Generator, error) {
	frames := make([][]byte, len(ts))
	for i, t := range ts {
		var err error
		if frames[i], err = trafficgen.Frame(t, p.RxMAC); err != nil {
			return nil, err
		}
	}
	return trafficgen.New(p.Gen, p.TxIf, frames)
}

func (s *contention) close() {
	for _, g := range []*trafficgen.Generator{s.floodGen, s.quietGen} {
		if g != nil {
			g.Close()
		}
	}
	if s.dp != nil {
		s.dp.Close()
	}
	if s.pin != "" {
		_ = datapath.Clean(s.pin)
	}
}
