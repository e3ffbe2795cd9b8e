package rules

import (
	"slices"
	"strings"
	"testing"
)

// One run reports every problem in every file, in file and line order,
// not just the first.
func TestLoadReportsEveryError(t *testing.T) {
	dir := writePolicy(t, map[string]string{
		"services.yaml": `services:
  web:
    to: [198.19.40.0/24]
    ports: ["443/tcp"]
remediation: [patch]
`,
		"orgs/a.yaml": `organisation: a
name: A
state: paused
ingress: [{interface: org0, vlan: 0}]
prefixes: [198.18.1.1/24]
allow:
  - service: webb
  - to: [198.19.41.0/24]
    proto: tcp
    ports: [99999]
`,
		"orgs/b.yaml": "organisation: b\nname: B\n",
	})
	want := []string{
		`orgs/a.yaml:3:8: unknown state "paused"; want active or suspended`,
		`orgs/a.yaml:4:35: vlan 0 out of range 1-4094`,
		`orgs/a.yaml:5:12: prefix 198.18.1.1/24 has host bits set; did you mean 198.18.1.0/24?`,
		`orgs/a.yaml:7:14: unknown service "webb"`,
		`orgs/a.yaml:10:13: port 99999 out of range 1-65535`,
		`orgs/b.yaml:1:1: missing required field "ingress"`,
		`orgs/b.yaml:1:1: missing required field "prefixes"`,
		`services.yaml:5:15: unknown service "patch"`,
	}
	equalLines(t, loadErrorsIn(t, dir), want)
}

func TestLoadErrorListFormat(t *testing.T) {
	dir := writePolicy(t, map[string]string{"x.yaml": "a: 1\n", "y.yaml": "b: 2\n"})
	_, err := Load(dir)
	want := dir + "/x.yaml:1:1: not an organisation or services file\n" +
		dir + "/y.yaml:1:1: not an organisation or services file"
	if err == nil || err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestLoadDirectoryProblems(t *testing.T) {
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no policy files") {
		t.Errorf("empty dir: err = %v", err)
	}
	if _, err := Load("/nonexistent/palisade-rules"); err == nil {
		t.Error("missing dir: no error")
	}
	// Hidden directories (a .git checkout) and other files are not policy.
	p, _ := loadOK(t, map[string]string{
		"services.yaml":     testServices,
		".git/config.yaml":  "not: policy\n",
		"README.md":         "# rules\n",
		"orgs/.draft.yaml":  "organisation: draft\n",
		"orgs/a/deep/a.yml": "organisation: a\nname: A\ningress: [{interface: org0}]\nprefixes: [198.18.1.0/24]\n",
	})
	if len(p.Orgs) != 1 || p.Orgs[0].ID != "a" {
		t.Errorf("orgs = %v", p.Orgs)
	}
}

// What a valid organisation decodes to, including the defaults.
func TestLoadDecodesRules(t *testing.T) {
	p, dir := loadOK(t, map[string]string{
		"services.yaml": testServices,
		"org.yaml": `organisation: a
name: A
ingress:
  - interface: org0
    vlan: 101
  - interface: org1
prefixes: [198.18.1.0/24, 2001:db8:1::/48]
allow:
  - service: web
    inspect: {tls_sni: ["*.partner.example"], fail: open}
  - id: partner
    to: [198.19.41.0/24]
    proto: tcp
    ports: [8080, 443, "8000-8080", 443]
  - id: everything
    to: [2001:db8:41::/48]
    proto: any
  - id: mixed
    to: [198.19.42.0/24]
    ports: ["53/udp", icmp, "53/tcp"]
  - id: all-udp
    to: [198.19.43.0/24]
    proto: udp
`,
	})
	o := p.Org("a")
	if o == nil || o.State != StateActive || o.Name != "A" {
		t.Fatalf("org = %+v", o)
	}
	if want := []Ingress{{Interface: "org0", VLAN: 101, Pos: Pos{dir + "/org.yaml", 4, 5}}, {Interface: "org1", Pos: Pos{dir + "/org.yaml", 6, 5}}}; !slices.Equal(o.Ingress, want) {
		t.Errorf("ingress = %v, want %v", o.Ingress, want)
	}
	tcp, udp, icmp := ProtoTCP, ProtoUDP, ProtoICMP
	tests := []struct {
		id    string
		to    string
		ports []PortRange
	}{
		{"web", "198.19.40.0/24", []PortRange{{tcp, 443, 443}}},
		{"partner", "198.19.41.0/24", []PortRange{{tcp, 443, 443}, {tcp, 8000, 8080}, {tcp, 8080, 8080}}},
		{"everything", "2001:db8:41::/48", []PortRange{{Proto: icmp}, {tcp, 1, 65535}, {udp, 1, 65535}}},
		{"mixed", "198.19.42.0/24", []PortRange{{Proto: icmp}, {tcp, 53, 53}, {udp, 53, 53}}},
		{"all-udp", "198.19.43.0/24", []PortRange{{udp, 1, 65535}}},
	}
	for i, tt := range tests {
		r := o.Allow[i]
		if r.ID != tt.id || prefixText(r.To) != tt.to || !slices.Equal(r.Ports, tt.ports) {
			t.Errorf("rule %d = %s %v %v, want %s %s %v", i, r.ID, r.To, r.Ports, tt.id, tt.to, tt.ports)
		}
	}
	in := o.Allow[0].Inspect
	if in == nil || !in.FailOpen || !slices.Equal(in.TLSSNI, []string{"*.partner.example"}) {
		t.Errorf("inspect = %+v", in)
	}
	if o.Allow[1].Inspect != nil {
		t.Errorf("rule without inspect has %+v", o.Allow[1].Inspect)
	}
}

// A derived id depends on what the rule allows, not where it is written or
// in which order its lists are.
func TestDerivedIDIsStable(t *testing.T) {
	org := func(rules string) map[string]string {
		return map[string]string{
			"services.yaml": testServices,
			"org.yaml":      "organisation: a\nname: A\ningress: [{interface: org0}]\nprefixes: [198.18.1.0/24]\nallow:\n" + rules,
		}
	}
	first := "  - {to: [198.19.41.0/24, 2001:db8:41::/48], proto: tcp, ports: [443, \"8000-8080\"]}\n"
	moved := "  - service: web\n  - to: [2001:db8:41::/48, 198.19.41.0/24]\n    ports: [\"8000-8080/tcp\", \"443/tcp\"]\n"
	p1, _ := loadOK(t, org(first))
	p2, _ := loadOK(t, org(moved))
	id1, id2 := p1.Orgs[0].Allow[0].ID, p2.Orgs[0].Allow[1].ID
	if id1 != id2 {
		t.Errorf("ids differ: %s vs %s", id1, id2)
	}
	// The documented canonical text, hashed: pinned, since changing it
	// renames every rule without an id in every deployed policy.
	if id1 != "r-"+sha8("to=198.19.41.0/24,2001:db8:41::/48;ports=443/tcp,8000-8080/tcp") {
		t.Errorf("id = %s", id1)
	}
}

// YAML anchors work where values do; a self-referencing alias is refused
// without looping.
func TestLoadAliases(t *testing.T) {
	p, _ := loadOK(t, map[string]string{
		"services.yaml": testServices,
		"org.yaml": `organisation: a
name: A
ingress: [{interface: org0}]
prefixes: &own [198.18.1.0/24]
allow:
  - id: x
    to: &dst [198.19.41.0/24]
    proto: tcp
  - id: y
    to: *dst
    proto: udp
`,
	})
	if got := prefixText(p.Orgs[0].Allow[1].To); got != "198.19.41.0/24" {
		t.Errorf("aliased to = %s", got)
	}
	got := loadErrors(t, map[string]string{"org.yaml": "organisation: a\nname: A\ningress: &i [*i]\nprefixes: [198.18.1.0/24]\n"})
	if want := []string{`org.yaml:3:10: ingress must be a mapping, not a list`}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
