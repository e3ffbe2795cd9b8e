package results

import (
	"fmt"
	"slices"
	"strings"
)

func apply(b *strings.Builder, r *Results) {
	a := r.Apply
	b.WriteString("## 4. Compile and apply\n\n")
	if a == nil {
		b.WriteString("not measured\n")
		return
	}
	fmt.Fprintf(b, "%d organisations, %d rules: policy.Compile %.1f ms (median), first datapath.Publish %.1f ms, "+
		"republish into the other generation %.1f ms; every rule's and organisation's counters read (what a metrics scrape reads) in %.1f ms; "+
		"%d map entries. Memory of all maps (memlock, as bpftool shows it): %.1f MiB.\n\n",
		a.Orgs, a.Rules, a.CompileMs, a.PublishMs, a.RepublishMs, a.CountersMs, a.Entries, float64(a.MapBytes)/(1<<20))
	b.WriteString("| map | type | max entries | memlock KiB |\n|---|---|---|---|\n")
	for _, m := range a.Maps {
		fmt.Fprintf(b, "| %s | %s | %d | %.0f |\n", m.Name, m.Type, m.MaxEntries, float64(m.Bytes)/1024)
	}
}

func notYet(b *strings.Builder, r *Results) {
	if len(r.NotYet) == 0 {
		return
	}
	b.WriteString("## Not yet\n\n")
	for _, s := range r.NotYet {
		fmt.Fprintf(b, "- %s\n", s)
	}
}

func keyName(k Key) string {
	if k.Rules == 0 {
		return k.Engine
	}
	return fmt.Sprintf("%s(%d)", k.Engine, k.Rules)
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func minMax(xs []float64) (float64, float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	return slices.Min(xs), slices.Max(xs)
}

// oneLine keeps a table cell in one row whatever an error message holds.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}
