package throughput

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/palisade-psn/palisade/bench/internal/engines"
	"github.com/palisade-psn/palisade/bench/internal/results"
	"github.com/palisade-psn/palisade/bench/internal/synth"
	"github.com/palisade-psn/palisade/bench/internal/trafficgen"
	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// instance is one engine at one rule count, with its namespaces and its
// generator, and the figures it has so far.
type instance struct {
	eng     engines.Engine
	pair    *engines.Pair
	gen     *trafficgen.Generator
	frames  uint32 // per burst, from calibration
	res     results.Throughput
	offered []float64
	busy    []float64 // share of each burst the receiver was on a CPU
	waiting []float64 // share it was runnable but waiting for one
	counted counts    // counters after the last burst
}

// build sets every engine up at every rule count. An engine that cannot be
// set up is kept, marked absent with the reason; a done ctx stops early.
func build(ctx context.Context, l *lab.Lab, cfg Config) ([]*instance, error) {
	var insts []*instance
	sets := map[int]*synth.Set{}
	for _, n := range cfg.RuleCounts {
		sets[n] = synth.Generate(n)
	}
	for _, k := range engines.Kinds() {
		if len(cfg.Engines) > 0 && !slices.Contains(cfg.Engines, k.Name) {
			continue
		}
		counts := cfg.RuleCounts
		if !k.Scales {
			counts = cfg.RuleCounts[:1] // it ignores the rules; frames still come from a set
		}
		for _, n := range counts {
			if err := ctx.Err(); err != nil {
				return insts, err
			}
			in := &instance{res: results.Throughput{Engine: k.Name, Backend: k.Backend, Rules: n}}
			if !k.Scales {
				in.res.Rules = 0
			}
			insts = append(insts, in)
			if err := in.setup(l, len(insts), k, sets[n], cfg); err != nil {
				cfg.Log.Warn("engine absent", "engine", k.Name, "rules", n, "why", err)
				in.res.Absent = err.Error()
			}
		}
	}
	return insts, nil
}

func (in *instance) setup(l *lab.Lab, id int, k engines.Kind, set *synth.Set, cfg Config) error {
	if missing := missingTools(k.Needs); missing != "" {
		return errors.New("not installed: " + missing)
	}
	var err error
	if in.pair, err = engines.NewPair(l, id); err != nil {
		return err
	}
	c := policy.Compile(set.Policy(in.pair.RxIf))
	in.eng = k.New()
	start := time.Now()
	if in.res.Entries, err = in.eng.Setup(in.pair, set, c); err != nil {
		return err
	}
	in.res.LoadSeconds = time.Since(start).Seconds()
	cfg.Log.Info("engine ready", "engine", k.Name, "rules", len(set.Rules), "entries", in.res.Entries, "load_s", in.res.LoadSeconds)
	if err := in.pair.ThreadNAPI(cfg.RecvCPU); err != nil {
		return err
	}
	return in.generator(set, c, cfg)
}

func (in *instance) generator(set *synth.Set, c *policy.Compiled, cfg Config) error {
	tuples, err := set.RefusedIPv4(c, in.pair.RxIf, cfg.Frames)
	if err != nil {
		return err
	}
	frames := make([][]byte, len(tuples))
	for i, t := range tuples {
		if frames[i], err = trafficgen.Frame(t, in.pair.RxMAC); err != nil {
			return err
		}
	}
	in.gen, err = trafficgen.New(in.pair.Gen, in.pair.TxIf, frames)
	return err
}

func missingTools(tools []string) string {
	var missing []string
	for _, t := range tools {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	return strings.Join(missing, ", ")
}

// calibrate sends a first burst, which also warms caches, and sizes the
// next one from the rate the generator reached.
func (in *instance) calibrate(cfg Config) error {
	const probe = 1 << 18
	took, err := in.gen.Burst(probe, cfg.GenCPU)
	if err != nil {
		return fmt.Errorf("calibrate %s: %w", in.res.Engine, err)
	}
	in.size(probe/took.Seconds(), cfg)
	in.drain()
	in.counted, err = in.read()
	return err
}

// size makes the next burst last cfg.Burst at the rate the generator sent
// the last one: the generator's speed moves with the machine's load.
func (in *instance) size(rate float64, cfg Config) {
	in.frames = uint32(min(max(rate*cfg.Burst.Seconds(), 1e4), 4e9))
}

func (in *instance) close() {
	if in.gen != nil {
		in.gen.Close()
	}
	if in.eng != nil {
		in.eng.Close()
	}
}
