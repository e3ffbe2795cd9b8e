package results

import (
	"fmt"
	"math"
	"strings"
)

// Plot geometry, in SVG user units.
const (
	plotW, plotH           = 760, 440
	padL, padR, padT, padB = 70, 190, 30, 50
)

var engineColours = map[string]string{
	Palisade: "#d62728", NFTSet: "#1f77b4", IPSet: "#2ca02c", IPTablesLegacy: "#9467bd",
	IPTablesNFT: "#8c564b", StackFloor: "#7f7f7f", XDPDrop: "#17becf", XDPReadDrop: "#bcbd22",
}

// SVG plots packets per second against rule count, both on log scales: one
// line per engine that enforces the rules, a dashed line for each engine
// whose cost does not depend on them.
func SVG(r *Results) string {
	lo, hi := ppsRange(r)
	xs := r.Method.RuleCounts
	x := func(n int) float64 {
		if len(xs) < 2 {
			return padL
		}
		f := (math.Log10(float64(n)) - math.Log10(float64(xs[0]))) / (math.Log10(float64(xs[len(xs)-1])) - math.Log10(float64(xs[0])))
		return padL + f*(plotW-padL-padR)
	}
	y := func(p float64) float64 {
		return padT + (1-(math.Log10(p)-lo)/(hi-lo))*(plotH-padT-padB)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", plotW, plotH, plotW, plotH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", plotW, plotH)
	axes(&b, r, lo, hi, x, y)
	legendY := padT
	for _, e := range plotted(r) {
		colour := engineColours[e]
		var pts []string
		for _, t := range r.Throughput {
			if t.Engine != e || t.Absent != "" || t.CPUPps <= 0 {
				continue
			}
			if t.Rules == 0 {
				fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="6 4"/>`+"\n", padL, x(xs[len(xs)-1]), y(t.CPUPps), y(t.CPUPps), colour)
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(t.Rules), y(t.CPUPps)))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", x(t.Rules), y(t.CPUPps), colour)
		}
		if len(pts) > 0 {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", colour, strings.Join(pts, " "))
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="14" height="4" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", plotW-padR+15, legendY, colour, plotW-padR+35, legendY+5, e)
		legendY += 20
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func axes(b *strings.Builder, r *Results, lo, hi float64, x func(int) float64, y func(float64) float64) {
	fmt.Fprintf(b, `<text x="%d" y="18" font-size="14">Refused IPv4 packets per second of receiver CPU over veth, by rule count</text>`+"\n", padL)
	for d := lo; d <= hi; d++ {
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			padL, plotW-padR, y(math.Pow(10, d)), y(math.Pow(10, d)), padL-6, y(math.Pow(10, d))+4, siPps(math.Pow(10, d)))
	}
	for _, n := range r.Method.RuleCounts {
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n",
			x(n), x(n), padT, plotH-padB, x(n), plotH-padB+16, n)
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">rules (1,000 organisations)</text>`+"\n", (padL+plotW-padR)/2, plotH-12)
}

// ppsRange is the decades (log10) the plot spans.
func ppsRange(r *Results) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, t := range r.Throughput {
		if t.Absent == "" && t.CPUPps > 0 {
			lo, hi = min(lo, math.Log10(t.CPUPps)), max(hi, math.Log10(t.CPUPps))
		}
	}
	if math.IsInf(lo, 0) {
		return 3, 7
	}
	return math.Floor(lo), math.Max(math.Ceil(hi), math.Floor(lo)+1)
}

func plotted(r *Results) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range r.Throughput {
		if !seen[t.Engine] {
			seen[t.Engine] = true
			out = append(out, t.Engine)
		}
	}
	return out
}

func siPps(p float64) string {
	switch {
	case p >= 1e6:
		return fmt.Sprintf("%gM", p/1e6)
	case p >= 1e3:
		return fmt.Sprintf("%gk", p/1e3)
	}
	return fmt.Sprintf("%g", p)
}
