package results

import (
	"fmt"
	"strings"
)

// Markdown renders r. It reads nothing but r, so the JSON written beside it
// renders to the same text: the self-test checks exactly that.
func Markdown(r *Results) string {
	var b strings.Builder
	for _, section := range []func(*strings.Builder, *Results){
		header, machine, targets, costs, budgetSection, throughput, contentionSection, ratios, growthTable, apply, inspectSection, captureSection, notYet,
	} {
		// A part a run has no figures for writes nothing, not even a blank
		// line, so results written before it existed render as they did.
		n := b.Len()
		section(&b, r)
		if b.Len() > n {
			b.WriteString("\n")
		}
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func header(b *strings.Builder, r *Results) {
	b.WriteString("# Palisade benchmark results\n\n")
	fmt.Fprintf(b, "Generated %s by `go run ./bench/cmd/palisade-bench`. Method: bench/README.md. "+
		"Every figure, with its runs, is in results.json.\n", r.Generated)
	if r.Quick {
		b.WriteString("\n**Quick run**: a harness check with tiny repeat counts; its figures mean nothing.\n")
	}
}

func machine(b *strings.Builder, r *Results) {
	m := r.Machine
	b.WriteString("## Machine\n\n| | |\n|---|---|\n")
	fmt.Fprintf(b, "| CPU | %s |\n| cores | %d |\n| kernel | %s |\n| virtualised | %t |\n| Go | %s |\n| commit | %s |\n| load average | %s |\n",
		m.CPU, m.Cores, m.Kernel, m.Virtualised, m.Go, m.Commit, m.Load)
	for _, k := range sortedKeys(m.Backends) {
		fmt.Fprintf(b, "| %s | %s |\n", k, m.Backends[k])
	}
	me := r.Method
	fmt.Fprintf(b, "\n%d organisations; program cost: %d repeats x %d runs (burst8: %d calls, single: %d calls, per run); "+
		"throughput: %d rounds of %.2g s bursts per engine, %d distinct %d-byte frames, generator on CPU %d, receiver NAPI on CPU %d.\n",
		me.Orgs, me.CostRepeat, me.CostRuns, me.Burst8Calls, me.SingleCalls, me.Rounds, me.BurstSeconds, me.Frames, me.FrameBytes, me.GenCPU, me.RecvCPU)
}

func targets(b *strings.Builder, r *Results) {
	b.WriteString("## Targets (issue 6)\n\n| target | want | measured | status |\n|---|---|---|---|\n")
	for _, t := range r.Targets {
		v := "-"
		if t.Status != NotMeasured {
			v = fmt.Sprintf("%.3g", t.Value)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", t.Name, t.Want, v, t.Status)
	}
}

func costs(b *strings.Builder, r *Results) {
	b.WriteString("## 1. Program cost (BPF_PROG_RUN)\n\nns per packet, and as a multiple of the empty XDP program measured the same way in the same run (its ns in brackets). " +
		"The ref_ rows are not Palisade: the flow-hit frame through a program that only parses it and finds its flow, in a hash table " +
		"shaped like the flow table (the floor of the flow-hit figure for any design that keeps flows in a BPF hash table) or in a " +
		"per-CPU array (what a per-CPU cache in front of it would cost); bench/bpf/baseline.c. " +
		"The _spread rows run each packet as the next of 4,096 flows towards random rules, through a driver that writes the frame " +
		"and tail-calls the program (the empty program behind the same driver is their denominator): the repeat rows keep every " +
		"entry they touch in the cache, these find them as a busy gateway does.\n")
	for _, fam := range []int{4, 6} {
		fmt.Fprintf(b, "\n**IPv%d**\n\n| case | method |", fam)
		for _, n := range r.Method.RuleCounts {
			fmt.Fprintf(b, " %d rules |", n)
		}
		b.WriteString("\n|---|---|" + strings.Repeat("---|", len(r.Method.RuleCounts)) + "\n")
		for _, c := range Cases {
			row, method := "", ""
			for _, n := range r.Method.RuleCounts {
				x, ok := r.cost(fam, c, n)
				if !ok {
					row += " - |"
					continue
				}
				method = x.Method
				row += fmt.Sprintf(" %.1f ns, %.2fx (%.2f) |", x.Ns, x.Ratio, x.EmptyNs)
			}
			fmt.Fprintf(b, "| %s | %s |%s\n", c, method, row)
		}
	}
}

func throughput(b *strings.Builder, r *Results) {
	b.WriteString("## 2. Throughput over veth\n\nRefused IPv4 traffic, 64-byte frames (see bench/README.md). " +
		"**CPU Mpps**: millions of packets per second of CPU the receiver's NAPI thread got, the figure ratios and targets use; " +
		"**burst Mpps**: per second of burst. Medians of the rounds; busy and waiting: share of a burst the receiver ran, and waited for a CPU.\n\n")
	b.WriteString("| engine | backend | rules | CPU Mpps | min-max | burst Mpps | offered Mpps | busy | waiting | entries | load s | accounting |\n" +
		"|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, t := range r.Throughput {
		rules := fmt.Sprint(t.Rules)
		if t.Rules == 0 {
			rules = "any"
		}
		if t.Absent != "" {
			fmt.Fprintf(b, "| %s | %s | %s | absent: %s | | | | | | | | |\n", t.Engine, t.Backend, rules, oneLine(t.Absent))
			continue
		}
		lo, hi := minMax(t.CPURounds)
		fmt.Fprintf(b, "| %s | %s | %s | %.3g | %.3g-%.3g | %.3g | %.3g | %.0f%% | %.0f%% | %d | %.2f | %s (%d packets) |\n",
			t.Engine, t.Backend, rules, t.CPUPps/1e6, lo/1e6, hi/1e6, t.Pps/1e6, t.Offered/1e6,
			100*t.Busy, 100*t.Waiting, t.Entries, t.LoadSeconds, t.Accounting, t.Checked)
	}
}

func ratios(b *strings.Builder, r *Results) {
	b.WriteString("## Paired ratios\n\nPalisade over each engine, round by round: median and min-max over rounds of the CPU Mpps ratio, and the median of the burst Mpps ratio.\n\n" +
		"| ratio | median (CPU) | min-max | median (burst) |\n|---|---|---|---|\n")
	for _, x := range r.Ratios {
		if x.Num.Engine != x.Den.Engine {
			fmt.Fprintf(b, "| %s / %s | %.3g | %.3g-%.3g | %.3g |\n", keyName(x.Num), keyName(x.Den), x.Median, x.Min, x.Max, x.WallMedian)
		}
	}
}

func growthTable(b *strings.Builder, r *Results) {
	b.WriteString("## 3. Cost growth\n\nEach engine's CPU Mpps against its own at the fewest rules (paired, median); the program rows are part 1's cost (as a multiple of the empty program timed beside it, so the host's drift between columns cancels) against its own at the fewest rules (more is slower). Plot: throughput.svg.\n\n![packets per second against rule count](throughput.svg)\n\n| engine |")
	for _, n := range r.Method.RuleCounts[1:] {
		fmt.Fprintf(b, " %d / %d rules |", n, r.Method.RuleCounts[0])
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(r.Method.RuleCounts)-1) + "\n")
	programGrowth(b, r)
	seen := map[string]bool{}
	for _, t := range r.Throughput {
		if t.Rules == 0 || seen[t.Engine] {
			continue
		}
		seen[t.Engine] = true
		fmt.Fprintf(b, "| %s |", t.Engine)
		for _, n := range r.Method.RuleCounts[1:] {
			b.WriteString(" " + growthCell(r, t.Engine, n) + " |")
		}
		b.WriteString("\n")
	}
}

func growthCell(r *Results, engine string, n int) string {
	for _, x := range r.Ratios {
		if x.Num == (Key{engine, n}) && x.Den.Engine == engine {
			return fmt.Sprintf("%.3g", x.Median)
		}
	}
	return "-"
}

// programGrowth is part 1's figures at each rule count over the fewest
// rules', in empty-program units (see growth): one cached frame (repeat)
// against frames spread over many flows.
func programGrowth(b *strings.Builder, r *Results) {
	if len(r.Method.RuleCounts) < 2 {
		return
	}
	for _, c := range []string{Refused, RefusedSpread, FlowHit, FlowHitSpread} {
		for _, fam := range []int{4, 6} {
			lo, ok := r.cost(fam, c, r.Method.RuleCounts[0])
			if !ok {
				continue
			}
			fmt.Fprintf(b, "| program: %s IPv%d |", c, fam)
			for _, n := range r.Method.RuleCounts[1:] {
				if x, ok := r.cost(fam, c, n); ok {
					fmt.Fprintf(b, " %.3g |", x.growthOver(lo))
				} else {
					b.WriteString(" - |")
				}
			}
			b.WriteString("\n")
		}
	}
}
