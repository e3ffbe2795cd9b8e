package rules

import (
	"slices"
	"strings"
	"testing"
)

// A double-tagged (QinQ) ingress is written vlan (outer) and inner_vlan.
func TestQinQIngressLoads(t *testing.T) {
	dir := writePolicy(t, map[string]string{
		"services.yaml": testServices,
		"a.yaml": "organisation: a\nname: A\ningress:\n" +
			"  - {interface: org1, vlan: 100, inner_vlan: 200}\n" +
			"  - {interface: org1, vlan: 100, inner_vlan: 201}\n" +
			"  - {interface: org1, vlan: 100}\n" + // its own outer VLAN too: nothing to choose from
			"prefixes: [198.18.6.0/24]\n",
	})
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range p.Org("a").Ingress {
		got = append(got, keyOf(in).String())
	}
	want := []string{"org1 vlan 100 inner_vlan 200", "org1 vlan 100 inner_vlan 201", "org1 vlan 100"}
	if !slices.Equal(got, want) {
		t.Errorf("ingress = %q, want %q", got, want)
	}
	if len(p.Warnings) != 0 {
		t.Errorf("warnings: %v", p.Warnings)
	}
}

func TestQinQIngressErrors(t *testing.T) {
	const head = "organisation: b\nname: B\ningress:\n"
	const tail = "prefixes: [198.18.7.0/24]\n"
	tests := []struct {
		name    string
		ingress string // ingress entries of b, from line 4
		want    []string
	}{
		{"inner tag out of range", "  - {interface: org1, vlan: 100, inner_vlan: 4095}\n  - {interface: org1, vlan: 100, inner_vlan: 0}\n",
			[]string{"b.yaml:4:46: inner_vlan 4095 out of range 1-4094", "b.yaml:5:46: inner_vlan 0 out of range 1-4094"}},
		{"outer tag out of range", "  - {interface: org1, vlan: 5000, inner_vlan: 7}\n",
			[]string{"b.yaml:4:29: vlan 5000 out of range 1-4094"}},
		{"inner tag alone", "  - interface: org1\n    inner_vlan: 200\n",
			[]string{"b.yaml:5:5: inner_vlan needs vlan, the outer tag; a frame with one tag is written vlan alone"}},
		{"inner tag not a number", "  - {interface: org1, vlan: 100, inner_vlan: two}\n",
			[]string{"b.yaml:4:46: inner_vlan must be an integer, not a string"}},
		{"listed twice", "  - {interface: org1, vlan: 100, inner_vlan: 200}\n  - {interface: org1, vlan: 100, inner_vlan: 200}\n",
			[]string{"b.yaml:5:5: ingress org1 vlan 100 inner_vlan 200 listed twice (first at line 4)"}},
		{"misspelt", "  - {interface: org1, vlan: 100, inner_vlans: 200}\n",
			[]string{`b.yaml:4:34: unknown field "inner_vlans" in ingress (did you mean "inner_vlan"?); allowed: interface, vlan, inner_vlan`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadErrors(t, map[string]string{"b.yaml": head + tt.ingress + tail})
			equalLines(t, got, tt.want)
		})
	}
}

// Across organisations: a QinQ ingress inside another organisation's
// single-tagged VLAN is refused (its hosts choose the inner tag); prefixes
// on one QinQ ingress may not overlap; another inner tag is another
// ingress, as another VLAN is.
func TestQinQAcrossOrganisations(t *testing.T) {
	org := func(id, ingress, prefix string) string {
		return "organisation: " + id + "\nname: " + id + "\ningress: [" + ingress + "]\nprefixes: [" + prefix + "]\n"
	}
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name: "inside another organisation's vlan",
			files: map[string]string{
				"a.yaml": org("a", "{interface: org1, vlan: 100}", "198.18.6.0/24"),
				"b.yaml": org("b", "{interface: org1, vlan: 100, inner_vlan: 200}", "198.18.7.0/24"),
			},
			want: []string{`b.yaml:3:11: ingress org1 vlan 100 inner_vlan 200 of organisation "b" is inside org1 vlan 100 of organisation "a" (DIR/a.yaml:3:11): ` +
				`a's hosts choose the inner tag of what they send there, so they could pass as b; give b an outer tag of its own`},
		},
		{
			name: "overlapping prefixes on one qinq ingress",
			files: map[string]string{
				"a.yaml": org("a", "{interface: org1, vlan: 100, inner_vlan: 200}", "198.18.6.0/24"),
				"b.yaml": org("b", "{interface: org1, vlan: 100, inner_vlan: 200}", "198.18.6.128/25") + "prefixes_shared_with: [a]\n",
			},
			want: []string{`b.yaml:4:12: prefix 198.18.6.128/25 of organisation "b" overlaps 198.18.6.0/24 of organisation "a" (DIR/a.yaml:4:12) on ingress org1 vlan 100 inner_vlan 200, where only the source address tells them apart`},
		},
		{
			name: "overlapping prefixes under other inner tags, undeclared",
			files: map[string]string{
				"a.yaml": org("a", "{interface: org1, vlan: 100, inner_vlan: 200}", "198.18.6.0/24"),
				"b.yaml": org("b", "{interface: org1, vlan: 100, inner_vlan: 201}", "198.18.6.128/25"),
			},
			want: []string{`b.yaml:4:12: prefix 198.18.6.128/25 of organisation "b" overlaps 198.18.6.0/24 of organisation "a" (DIR/a.yaml:4:12); if the two share these addresses, each must list the other in prefixes_shared_with`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.files["services.yaml"] = testServices
			dir := writePolicy(t, tt.files)
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = strings.ReplaceAll(w, "DIR", dir)
			}
			equalLines(t, loadErrorsIn(t, dir), want)
		})
	}
}

// What is not refused: other outer tags, the other way round (a single
// tag inside nobody's QinQ), other interfaces, and two organisations on
// one QinQ ingress, which is a shared ingress like any other (warned).
func TestQinQAllowedAcrossOrganisations(t *testing.T) {
	org := func(id, ingress, prefix string) string {
		return "organisation: " + id + "\nname: " + id + "\ningress: [" + ingress + "]\nprefixes: [" + prefix + "]\n"
	}
	dir := writePolicy(t, map[string]string{
		"services.yaml": testServices,
		"a.yaml":        org("a", "{interface: org1, vlan: 101}, {interface: org0, vlan: 100}", "198.18.6.0/24"),
		"b.yaml":        org("b", "{interface: org1, vlan: 100, inner_vlan: 200}", "198.18.7.0/24"),
		"c.yaml":        org("c", "{interface: org1, vlan: 200}", "198.18.8.0/24"),
		"d.yaml":        org("d", "{interface: org1, vlan: 100, inner_vlan: 200}", "198.18.9.0/24"),
	})
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := relLines(dir, p.Warnings)
	equalLines(t, got, []string{
		`b.yaml:3:11: ingress org1 vlan 100 inner_vlan 200 is shared with organisation "d": identity on it rests on source addresses alone, so a host of one organisation can send from another's registered prefixes; a VLAN each would isolate them`,
		`d.yaml:3:11: ingress org1 vlan 100 inner_vlan 200 is shared with organisation "b": identity on it rests on source addresses alone, so a host of one organisation can send from another's registered prefixes; a VLAN each would isolate them`,
	})
}
