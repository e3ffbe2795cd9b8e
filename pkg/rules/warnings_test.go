package rules

import "testing"

func TestLoadWarnings(t *testing.T) {
	tests := []struct {
		name  string
		allow string // the allow list of organisation a, from line 6
		want  []string
	}{
		{
			name: "narrower rule after a wider one",
			allow: `  - id: wide
    to: [198.19.0.0/16]
    proto: tcp
    ports: [443]
  - id: narrow
    to: [198.19.40.0/24]
    ports: ["443/tcp"]
`,
			want: []string{`org.yaml:10:5: rule "narrow" is shadowed by rule "wide" (line 6), which already allows all its destinations and ports`},
		},
		{
			name: "wider rule after a narrower one is not shadowed",
			allow: `  - {id: narrow, to: [198.19.40.0/24], proto: tcp, ports: [443]}
  - {id: wide, to: [198.19.0.0/16], proto: tcp, ports: [443]}
`,
		},
		{
			name: "ports covered only by adjacent ranges together",
			allow: `  - {id: a, to: [198.19.40.0/24], proto: udp, ports: ["1-100", "101-200"]}
  - {id: b, to: [198.19.40.0/24], proto: udp, ports: ["50-150"]}
  - {id: c, to: [198.19.40.0/24], proto: tcp, ports: ["50-150"]}
`,
			want: []string{`org.yaml:7:5: rule "b" is shadowed by rule "a" (line 6), which already allows all its destinations and ports`},
		},
		{
			name: "service rule shadowed by proto any",
			allow: `  - {id: all, to: [198.19.0.0/16], proto: any}
  - service: web
`,
			want: []string{`org.yaml:7:5: rule "web" is shadowed by rule "all" (line 6), which already allows all its destinations and ports`},
		},
		{
			name: "an inspecting rule does not shadow a plain one",
			allow: `  - {id: flagged, to: [198.19.40.0/24], proto: tcp, inspect: {tls_sni: [a.example]}}
  - {id: plain, to: [198.19.40.0/24], proto: tcp, ports: [443]}
`,
		},
		{
			name: "destination inside the organisation's own prefixes",
			allow: `  - id: self
    to: [198.19.40.0/24, 198.18.1.128/25]
    proto: icmp
`,
			want: []string{`org.yaml:7:26: destination 198.18.1.128/25 overlaps the organisation's own prefix 198.18.1.0/24`},
		},
		{
			name: "destination inside another in the same rule",
			allow: `  - {id: r, to: [198.19.0.0/16, 198.19.40.0/24], proto: icmp}
`,
			want: []string{`org.yaml:6:33: prefix 198.19.40.0/24 is inside 198.19.0.0/16 (line 6) and adds nothing`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, dir := loadOK(t, map[string]string{
				"services.yaml": testServices,
				"org.yaml":      "organisation: a\nname: A\ningress: [{interface: org0}]\nprefixes: [198.18.1.0/24]\nallow:\n" + tt.allow,
			})
			equalLines(t, relLines(dir, p.Warnings), tt.want)
		})
	}
}
