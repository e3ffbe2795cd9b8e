package results

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"

	"github.com/palisade-psn/palisade/bench/internal/stats"
)

// Check verifies that the results in dir are complete and self-consistent:
// every figure present (or absent with a reason), every summary the one its
// samples give, every ratio its value over its baseline, targets as their
// figures say, and the Markdown and plot rendered from the JSON. It never
// judges a timing.
func Check(dir string, engines []string) error {
	r, err := Read(dir)
	if err != nil {
		return err
	}
	errs := []error{checkCosts(r), checkThroughput(r, engines), checkRatios(r), checkApply(r), checkInspection(r), checkCapture(r),
		checkBudgets(r), checkContention(r)}
	if !reflect.DeepEqual(Evaluate(r), r.Targets) {
		errs = append(errs, errors.New("targets differ from what the figures give"))
	}
	md, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if err != nil || string(md) != Markdown(r) {
		errs = append(errs, fmt.Errorf("%s is not the rendering of %s (%v)", MarkdownFile, JSONFile, err))
	}
	errs = append(errs, checkSVG(filepath.Join(dir, PlotFile), SVG(r)))
	return errors.Join(errs...)
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func checkCosts(r *Results) error {
	var errs []error
	for _, n := range r.Method.RuleCounts {
		for _, fam := range []int{4, 6} {
			for _, c := range Cases {
				x, ok := r.cost(fam, c, n)
				what := fmt.Sprintf("cost %s IPv%d %d rules", c, fam, n)
				switch {
				case !ok:
					errs = append(errs, errors.New(what+": missing"))
				case len(x.Runs) != r.Method.CostRuns || len(x.EmptyRuns) != r.Method.CostRuns:
					errs = append(errs, fmt.Errorf("%s: %d runs, want %d", what, len(x.Runs), r.Method.CostRuns))
				case !(x.Ns > 0 && x.EmptyNs > 0):
					errs = append(errs, fmt.Errorf("%s: non-positive figure %v / %v", what, x.Ns, x.EmptyNs))
				case !near(x.Ns, stats.Median(x.Runs)) || !near(x.EmptyNs, stats.Median(x.EmptyRuns)):
					errs = append(errs, errors.New(what+": figure is not the median of its runs"))
				case !near(x.Ratio, x.Ns/x.EmptyNs):
					errs = append(errs, errors.New(what+": ratio is not value / empty"))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func checkThroughput(r *Results, engines []string) error {
	var errs []error
	for _, e := range engines {
		if !slices.ContainsFunc(r.Throughput, func(t Throughput) bool { return t.Engine == e }) {
			errs = append(errs, fmt.Errorf("throughput: no figure for %s", e))
		}
	}
	for _, t := range r.Throughput {
		what := fmt.Sprintf("throughput %s at %d rules", t.Engine, t.Rules)
		switch {
		case t.Absent != "":
			if t.Pps != 0 || len(t.Rounds) != 0 {
				errs = append(errs, errors.New(what+": absent but has figures"))
			}
		case len(t.Rounds) != r.Method.Rounds || len(t.CPURounds) != r.Method.Rounds:
			errs = append(errs, fmt.Errorf("%s: %d and %d rounds, want %d", what, len(t.Rounds), len(t.CPURounds), r.Method.Rounds))
		case !(t.Pps > 0 && t.CPUPps > 0) || !near(t.Pps, stats.Median(t.Rounds)) || !near(t.CPUPps, stats.Median(t.CPURounds)):
			errs = append(errs, errors.New(what+": figures are not the (positive) medians of their rounds"))
		case t.Accounting != "ok" || t.Checked == 0:
			errs = append(errs, fmt.Errorf("%s: accounting %q over %d packets", what, t.Accounting, t.Checked))
		}
	}
	return errors.Join(errs...)
}

func checkRatios(r *Results) error {
	by := map[Key]Throughput{}
	for _, t := range r.Throughput {
		by[Key{t.Engine, t.Rules}] = t
	}
	var errs []error
	for _, x := range r.Ratios {
		n, d := by[x.Num], by[x.Den]
		what := fmt.Sprintf("ratio %s / %s", keyName(x.Num), keyName(x.Den))
		if len(x.Rounds) == 0 || len(x.Rounds) != len(n.CPURounds) || len(x.Rounds) != len(d.CPURounds) || len(x.WallRounds) != len(x.Rounds) {
			errs = append(errs, errors.New(what+": rounds do not pair up"))
			continue
		}
		for i := range x.Rounds {
			if !near(x.Rounds[i], n.CPURounds[i]/d.CPURounds[i]) || !near(x.WallRounds[i], n.Rounds[i]/d.Rounds[i]) {
				errs = append(errs, fmt.Errorf("%s: round %d is not value / baseline", what, i+1))
			}
		}
		lo, hi := stats.MinMax(x.Rounds)
		if !near(x.Median, stats.Median(x.Rounds)) || !near(x.WallMedian, stats.Median(x.WallRounds)) || !near(x.Min, lo) || !near(x.Max, hi) {
			errs = append(errs, errors.New(what+": median or range is not its rounds'"))
		}
	}
	return errors.Join(errs...)
}

func checkApply(r *Results) error {
	a := r.Apply
	if a == nil {
		return errors.New("apply: missing")
	}
	var sum uint64
	for _, m := range a.Maps {
		sum += m.Bytes
	}
	if a.Entries == 0 || len(a.Maps) == 0 || sum != a.MapBytes || !(a.CompileMs > 0 && a.PublishMs > 0 && a.RepublishMs > 0 && a.CountersMs > 0) {
		return fmt.Errorf("apply: incomplete or inconsistent: %+v", *a)
	}
	return nil
}

// checkSVG makes sure the plot is the rendering of the JSON, and
// well-formed XML, so that any viewer opens it.
func checkSVG(path, want string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if string(b) != want {
		return fmt.Errorf("%s is not the rendering of %s", PlotFile, JSONFile)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := d.Token(); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("plot is not well-formed: %w", err)
		}
	}
}
