package rules

import (
	"strings"
	"testing"
	"time"
)

const agreementServices = `services:
  care:
    owner: council
    to: [198.18.1.10/32]
    ports: ["8080/tcp"]
  intel:
    owner: police
    to: [198.18.3.10/32]
    ports: ["8443/tcp"]
remediation: [care]
`

func agreementOrg(id, prefix, agreements string) string {
	return "organisation: " + id + "\nname: X\ningress: [{interface: org-" + id + "}]\nprefixes: [" + prefix + "]\n" + agreements
}

func TestAgreementsNeedBothSides(t *testing.T) {
	council := "agreements:\n  - {id: share, with: police, expires: 2027-03-31, offers: [care]}\n"
	police := "agreements:\n  - {id: share, with: council, expires: 2027-01-31T12:00:00Z, offers: [intel]}\n"
	before, after := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name         string
		police       string
		at           time.Time
		policeRules  []string
		councilRules []string
		warning      string
		until        time.Time
	}{
		{"both declare", police, before, []string{"share.care"}, []string{"share.intel"}, "", time.Date(2027, 1, 31, 12, 0, 0, 0, time.UTC)},
		{"one side revoked", "", before, nil, nil, `agreement "share" with police is not declared by police`, time.Time{}},
		{"expired on one side", police, after, nil, nil, `agreement "share" with police has expired`, time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writePolicy(t, map[string]string{
				"services.yaml": agreementServices,
				"council.yaml":  agreementOrg("council", "198.18.1.0/24", council),
				"police.yaml":   agreementOrg("police", "198.18.3.0/24", tc.police),
			})
			p, err := LoadAt(dir, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			if got := ruleIDs(p.Org("police").Allow); strings.Join(got, ",") != strings.Join(tc.policeRules, ",") {
				t.Errorf("police rules = %v, want %v", got, tc.policeRules)
			}
			if got := ruleIDs(p.Org("council").Allow); strings.Join(got, ",") != strings.Join(tc.councilRules, ",") {
				t.Errorf("council rules = %v, want %v", got, tc.councilRules)
			}
			if tc.warning != "" && !strings.Contains(ErrorList(p.Warnings).Error(), tc.warning) {
				t.Errorf("warnings lack %q: %v", tc.warning, ErrorList(p.Warnings))
			}
			if !p.AgreementsUntil.Equal(tc.until) {
				t.Errorf("until = %v, want %v", p.AgreementsUntil, tc.until)
			}
		})
	}
}

func TestAgreementErrors(t *testing.T) {
	dir := writePolicy(t, map[string]string{
		"services.yaml": agreementServices,
		"council.yaml": agreementOrg("council", "198.18.1.0/24", "agreements:\n"+
			"  - {id: a, with: nobody, expires: 2027-03-31}\n"+
			"  - {id: b, with: council, expires: 2027-03-31}\n"+
			"  - {id: c, with: police, expires: someday, offers: [care]}\n"+
			"  - {id: d, with: police, expires: 2027-03-31, offers: [nothing]}\n"),
		"police.yaml": agreementOrg("police", "198.18.3.0/24", ""),
	})
	_, err := LoadAt(dir, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	if err == nil {
		t.Fatal("broken agreements accepted")
	}
	got := strings.ReplaceAll(err.Error(), dir+"/", "")
	for _, want := range []string{
		`council.yaml:6:19: agreement "a" names unknown organisation "nobody"`,
		`council.yaml:7:19: agreement "b" names council itself`,
		`council.yaml:8:36: expires "someday"`,
		`council.yaml:9:57: agreement "d" offers unknown service "nothing"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
}

func TestWithoutExpired(t *testing.T) {
	dir := writePolicy(t, map[string]string{
		"services.yaml": agreementServices,
		"council.yaml": agreementOrg("council", "198.18.1.0/24",
			"agreements:\n  - {id: short, with: police, expires: 2027-01-01, offers: [care]}\n  - {id: long, with: police, expires: 2028-01-01, offers: [care]}\n"),
		"police.yaml": agreementOrg("police", "198.18.3.0/24",
			"agreements:\n  - {id: short, with: council, expires: 2028-01-01}\n  - {id: long, with: council, expires: 2028-01-01}\n"),
	})
	p, err := LoadAt(dir, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if got := ruleIDs(p.Org("police").Allow); strings.Join(got, ",") != "short.care,long.care" {
		t.Fatalf("police rules = %v", got)
	}
	q := p.WithoutExpired(time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC))
	if got := ruleIDs(q.Org("police").Allow); strings.Join(got, ",") != "long.care" || !q.AgreementsUntil.Equal(time.Date(2028, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("after the short one expired: rules %v, until %v", got, q.AgreementsUntil)
	}
	if len(p.Org("police").Allow) != 2 {
		t.Error("WithoutExpired changed the policy it was given")
	}
}
