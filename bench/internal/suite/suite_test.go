package suite

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/palisade-psn/palisade/bench/internal/engines"
	"github.com/palisade-psn/palisade/bench/internal/results"
)

// TestQuickRun runs the whole suite, tiny, and checks that what it wrote is
// complete and self-consistent. It asserts no timing: only that the
// harness works and its figures add up.
func TestQuickRun(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the benchmark harness needs root (BPF_PROG_RUN, namespaces, netfilter)")
	}
	out := t.TempDir()
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	if _, err := Run(context.Background(), Quick(), out, log); err != nil {
		t.Fatalf("quick run: %v", err)
	}
	if err := results.Check(out, engines.Names()); err != nil {
		t.Fatalf("results in %s are not complete and consistent:\n%v", out, err)
	}
	r, err := results.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range r.Throughput {
		if x.Engine == results.Palisade && x.Absent != "" {
			t.Errorf("palisade absent at %d rules: %s", x.Rules, x.Absent)
		}
	}
	if r.Budgets == nil || r.Contention == nil {
		t.Errorf("a fresh run lacks issue 17's figures: budgets %v, contention %v", r.Budgets != nil, r.Contention != nil)
	}
	// Parts 5 and 6 have no reason to be missing from a fresh run; part 5
	// may be absent (with its reason) where the agent cannot be built.
	if len(r.NotYet) != 0 || r.Capture == nil || r.Inspection == nil {
		t.Errorf("a fresh run lacks a part: not yet %q, capture %v, inspection %v", r.NotYet, r.Capture != nil, r.Inspection != nil)
	} else if r.Inspection.Absent != "" {
		t.Logf("part 5 absent: %s", r.Inspection.Absent)
	} else if len(r.Inspection.Shares) != 3 || r.Inspection.KernelPackets == 0 {
		// Issue 18's figures (results.Check accepts older results without them).
		t.Errorf("a fresh run lacks issue 18's share cases or kernel counts: %d cases, kernel packets %d",
			len(r.Inspection.Shares), r.Inspection.KernelPackets)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
