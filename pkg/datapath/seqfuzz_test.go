package datapath

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSeqFuzz drives the compiled program and the reference model
// (model_test.go) with generated sequences of packets (seqgen_test.go)
// and wants the same XDP action for every packet, and for every drop the
// same reason. Sequences are epochs of seqEpochLen steps, each starting
// from empty flow and fragment tables, so a difference replays from its
// seed and epoch alone:
//
//	go test -run TestSeqFuzz ./pkg/datapath/ -palisade.seqfuzz.replay=SEED:EPOCH
//
// (or PALISADE_SEQFUZZ_REPLAY=SEED:EPOCH; EPOCH "pre" is the run before
// any policy). Longer runs: -palisade.seqfuzz.n=5000000 (or
// PALISADE_SEQFUZZ_N), a seed of "random" for a new one each run
// (`make fuzz-datapath`).
func TestSeqFuzz(t *testing.T) {
	cfg := seqConfig(t)
	h := newSeqHarness(t)
	run := &seqRun{h: h, seed: cfg.seed, counts: map[string]int{}, t: t}
	if cfg.replay != "" {
		run.replay(cfg.replay)
		return
	}
	start := time.Now()
	pre := newRefModel(h.world, nil, nil)
	run.epoch(pre, "pre", newSeqGen(cfg.seed, preEpoch).epoch(300), true)
	h.publish()
	m := newRefModel(h.world, h.policy, seqIfaces)
	e := uint64(0)
	for ; run.packets() < cfg.n && len(run.diffs) < 10; e++ {
		steps := newSeqGen(cfg.seed, e).epoch(seqEpochLen)
		run.epoch(m, strconv.FormatUint(e, 10), steps, epochForward(cfg.seed, e))
	}
	el := time.Since(start)
	t.Logf("seed %d: %d packets in %d epochs, %v (%.0f packets/s); outcomes: %s", cfg.seed, run.packets(),
		e, el.Round(time.Millisecond), float64(run.packets())/el.Seconds(), run.summary())
	for _, d := range run.diffs {
		t.Error(d)
	}
	if len(run.diffs) == 0 && cfg.n >= seqDefaultN {
		run.checkCoverage()
	}
}

const (
	seqEpochLen = 400
	seqDefaultN = 200000
	preEpoch    = 1 << 40 // the epoch number of the run before any policy
)

var (
	seqFlagN      = flag.Int("palisade.seqfuzz.n", 0, "packets TestSeqFuzz sends (default $PALISADE_SEQFUZZ_N, or 200000)")
	seqFlagSeed   = flag.String("palisade.seqfuzz.seed", "", `TestSeqFuzz's seed, or "random" (default $PALISADE_SEQFUZZ_SEED, or 1)`)
	seqFlagReplay = flag.String("palisade.seqfuzz.replay", "", "SEED:EPOCH: replay one epoch of TestSeqFuzz step by step (default $PALISADE_SEQFUZZ_REPLAY)")
)

type seqSettings struct {
	n      int
	seed   uint64
	replay string
}

func seqConfig(t *testing.T) seqSettings {
	c := seqSettings{n: seqDefaultN, seed: 1, replay: firstOf(*seqFlagReplay, os.Getenv("PALISADE_SEQFUZZ_REPLAY"))}
	if s := firstOf(strconv.Itoa(*seqFlagN), os.Getenv("PALISADE_SEQFUZZ_N")); s != "0" && s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("packet count %q: %v", s, err)
		}
		c.n = n
	}
	switch s := firstOf(*seqFlagSeed, os.Getenv("PALISADE_SEQFUZZ_SEED")); s {
	case "":
	case "random":
		c.seed = uint64(time.Now().UnixNano())
	default:
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("seed %q: %v", s, err)
		}
		c.seed = v
	}
	return c
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" && v != "0" {
			return v
		}
	}
	return ""
}

// epochForward: most epochs forward in XDP, some leave it to the stack.
func epochForward(seed, e uint64) bool {
	return rand.New(rand.NewPCG(seed^0x5eed, e)).IntN(10) != 0
}

// seqRun is one fuzzing run: outcome counts and the differences found.
type seqRun struct {
	t      *testing.T
	h      *seqHarness
	seed   uint64
	counts map[string]int
	diffs  []string
	seen   map[string]bool // difference signatures already reported
}

// epoch plays one sequence; a difference is minimised and recorded.
func (r *seqRun) epoch(m *refModel, name string, steps []seqStep, fwd bool) {
	d, err := r.h.play(m, steps, fwd, r.counts)
	if err != nil {
		r.t.Fatalf("seed %d epoch %s: %v", r.seed, name, err)
	}
	if d == nil {
		if bad := r.h.checkState(m); len(bad) > 0 {
			r.report(fmt.Sprintf("state after seed %d epoch %s (replay: PALISADE_SEQFUZZ_REPLAY=%d:%s):\n  %s",
				r.seed, name, r.seed, name, strings.Join(bad, "\n  ")), "state:"+bad[0])
		}
		return
	}
	sig := d.signature()
	if r.seen[sig] {
		return
	}
	min := r.h.minimize(m, steps[:d.step], steps[d.step], fwd, sig)
	var b strings.Builder
	fmt.Fprintf(&b, "difference: seed %d, epoch %s, step %d (replay: PALISADE_SEQFUZZ_REPLAY=%d:%s go test -run TestSeqFuzz ./pkg/datapath/)\n",
		r.seed, name, d.step, r.seed, name)
	fmt.Fprintf(&b, "  model: %s (%s); program: %s\n", d.want, d.want.why, d.got)
	fmt.Fprintf(&b, "  minimal sequence, %d steps (XDP forwarding %v):\n", len(min), fwd)
	for i, s := range min {
		fmt.Fprintf(&b, "    [%d] %s\n", i, s)
	}
	b.WriteString(r.h.routeReport(steps[d.step].iface, steps[d.step].frame))
	r.report(b.String(), sig)
}

func (r *seqRun) report(s, sig string) {
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	if !r.seen[sig] {
		r.seen[sig] = true
		r.diffs = append(r.diffs, s)
	}
}

// replay plays one epoch and logs every step with both answers.
func (r *seqRun) replay(spec string) {
	seedS, epochS, ok := strings.Cut(spec, ":")
	seed, err := strconv.ParseUint(seedS, 10, 64)
	if !ok || err != nil {
		r.t.Fatalf("replay %q: want SEED:EPOCH", spec)
	}
	var m *refModel
	var steps []seqStep
	fwd := true
	if epochS == "pre" {
		m, steps = newRefModel(r.h.world, nil, nil), newSeqGen(seed, preEpoch).epoch(300)
	} else {
		e, err := strconv.ParseUint(epochS, 10, 64)
		if err != nil {
			r.t.Fatalf("replay %q: epoch: %v", spec, err)
		}
		r.h.publish()
		m, steps, fwd = newRefModel(r.h.world, r.h.policy, seqIfaces), newSeqGen(seed, e).epoch(seqEpochLen), epochForward(seed, e)
	}
	d, err := r.h.playLogged(m, steps, fwd, false, func(i int, s seqStep, want, got refOutcome) {
		if s.event != nil {
			r.t.Logf("   [%d] %s", i, s)
			return
		}
		mark := "  "
		if outcomesDiffer(want, got) {
			mark = "!!"
		}
		r.t.Logf("%s [%d] %s\n      model: %s (%s); program: %s", mark, i, s, want, want.why, got)
	})
	if err != nil {
		r.t.Fatal(err)
	}
	if d != nil {
		r.t.Errorf("first difference at step %d", d.step)
	}
}

// packets is how many packets went through both so far.
func (r *seqRun) packets() int {
	n := 0
	for k, c := range r.counts {
		if !strings.HasPrefix(k, "path: ") {
			n += c
		}
	}
	return n
}

// summary lists the outcomes seen, and on lines of their own the
// model's decision paths.
func (r *seqRun) summary() string {
	var keys []string
	for k := range r.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out, paths []string
	for _, k := range keys {
		if p, ok := strings.CutPrefix(k, "path: "); ok {
			paths = append(paths, fmt.Sprintf("\n  %8d %s", r.counts[k], p))
		} else {
			out = append(out, fmt.Sprintf("%s %d", k, r.counts[k]))
		}
	}
	return strings.Join(out, ", ") + "; decision paths:" + strings.Join(paths, "")
}

// checkCoverage wants every outcome but an internal error seen: a
// generator that stopped reaching one would leave its door untested.
func (r *seqRun) checkCoverage() {
	want := []string{"pass", "redirect"}
	for i := rL2Truncated; i < rMax; i++ {
		if i != rInternal {
			want = append(want, "drop "+reasonName(i))
		}
	}
	for _, w := range want {
		if r.counts[w] == 0 {
			r.t.Errorf("no packet ended as %q: the generator no longer reaches it", w)
		}
	}
}
