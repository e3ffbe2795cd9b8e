package engines

import (
	"errors"
	"fmt"

	"github.com/palisade-psn/palisade/bench/internal/progcost"
	"github.com/palisade-psn/palisade/bench/internal/synth"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// Palisade is the boundary program as the agent runs it: attached in
// native mode, forwarding on, the policy published through the datapath.
type Palisade struct {
	dp  *datapath.Datapath
	pin string
}

func (e *Palisade) Setup(p *Pair, _ *synth.Set, c *policy.Compiled) (int, error) {
	e.pin = progcost.PinDir()
	var err error
	if e.dp, err = datapath.Open(datapath.Options{PinPath: e.pin}); err != nil {
		return 0, fmt.Errorf("open datapath: %w", err)
	}
	var res datapath.PublishResult
	err = p.FW.Do(func() error {
		// Interface names resolve in the namespace: publish and attach there.
		if res, err = e.dp.Publish(c, []string{p.RxIf, "eg0"}); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		if len(res.Skipped) > 0 {
			return fmt.Errorf("publish skipped ingresses %v", res.Skipped)
		}
		_, err := e.dp.Attach(p.RxIf, datapath.Native)
		return err
	})
	return res.Entries, err
}

// Refused counts drops for want of a rule, the path every generated frame
// must take: a frame dropped for any other reason (malformed, spoofed) is
// missing from it, and the accounting check reports the difference.
func (e *Palisade) Refused(*Pair) (uint64, error) {
	drops, err := e.dp.Counters().DropCounts()
	if err != nil {
		return 0, err
	}
	return drops["no_rule"].Packets, nil
}

func (e *Palisade) Close() error {
	var err error
	if e.dp != nil {
		err = e.dp.Close()
	}
	if e.pin != "" { // also when the load failed half way
		err = errors.Join(err, datapath.Clean(e.pin))
	}
	return err
}
