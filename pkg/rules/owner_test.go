package rules

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// exampleWith copies the example policy in rules/ to a new dir, replacing
// in each named file (path under rules/) old with new, once.
func exampleWith(t *testing.T, edits map[string][2]string) string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir("../../rules", func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel("../../rules", path)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	must(t, err)
	for name, e := range edits {
		if !strings.Contains(files[name], e[0]) {
			t.Fatalf("%s has no %q", name, e[0])
		}
		files[name] = strings.Replace(files[name], e[0], e[1], 1)
	}
	return writePolicy(t, files)
}

// Issue 19: two councils could hand each other the NHS spine. An
// organisation may offer only services it owns.
func TestAgreementOffersOnlyWhatItsPartyOwns(t *testing.T) {
	const offers = "offers: [surrey-social-care]"
	cases := []struct {
		name  string
		edits map[string][2]string
		want  []string
	}{
		{"a shared service", map[string][2]string{"organisations/surrey-cc.yaml": {offers, "offers: [surrey-social-care, health-spine]"}}, []string{
			`organisations/surrey-cc.yaml:33:34: agreement "safeguarding-2026" offers service "health-spine", which has no owner: a shared service is granted by allow rules, never offered; an organisation may offer only services it owns`,
		}},
		{"the other party's service", map[string][2]string{"organisations/surrey-cc.yaml": {offers, "offers: [police-safeguarding]"}}, []string{
			`organisations/surrey-cc.yaml:33:14: agreement "safeguarding-2026" offers service "police-safeguarding", which surrey-police owns, not surrey-cc; an organisation may offer only services it owns`,
		}},
		// Claiming the spine in the services file does not work either:
		// its addresses are not surrey-cc's.
		{"a claimed owner", map[string][2]string{
			"services.yaml":                {"to: [198.19.11.0/24, 2001:db8:11::/48]", "owner: surrey-cc\n    to: [198.19.11.0/24, 2001:db8:11::/48]"},
			"organisations/surrey-cc.yaml": {offers, "offers: [surrey-social-care, health-spine]"},
		}, []string{
			`services.yaml:14:10: service "health-spine" is owned by surrey-cc, but 198.19.11.0/24 is not in its prefixes (198.18.1.0/24, 2001:db8:1::/48); an organisation owns only services on its own network`,
			`services.yaml:14:26: service "health-spine" is owned by surrey-cc, but 2001:db8:11::/48 is not in its prefixes (198.18.1.0/24, 2001:db8:1::/48); an organisation owns only services on its own network`,
		}},
		{"an unknown owner", map[string][2]string{"services.yaml": {"owner: surrey-cc", "owner: surrey"}}, []string{
			`organisations/surrey-cc.yaml:33:14: agreement "safeguarding-2026" offers service "surrey-social-care", which surrey owns, not surrey-cc; an organisation may offer only services it owns`,
			`services.yaml:47:12: service "surrey-social-care" has unknown owner "surrey"; an owner is the organisation hosting the service (a service run for the whole PSN has none)`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			equalLines(t, loadErrorsIn(t, exampleWith(t, tc.edits)), tc.want)
		})
	}
}

// The owner offering its own service is what agreements are for: a second
// service surrey-cc hosts, offered beside the first, reaches the police.
func TestAgreementOwnerOffersItsOwnService(t *testing.T) {
	dir := exampleWith(t, map[string][2]string{
		"services.yaml": {"  police-safeguarding:", "  surrey-housing:\n    owner: surrey-cc\n    to: [198.18.1.20/32, 2001:db8:1::20/128]\n    ports: [\"443/tcp\"]\n  police-safeguarding:"},
		"organisations/surrey-cc.yaml": {"offers: [surrey-social-care]", "offers: [surrey-social-care, surrey-housing]"},
	})
	p, err := LoadAt(dir, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	police := p.Org("surrey-police")
	got := ruleIDs(police.Allow)
	if !slices.Contains(got, "safeguarding-2026.surrey-housing") || !slices.Contains(got, "safeguarding-2026.surrey-social-care") {
		t.Errorf("surrey-police rules = %v", got)
	}
	if s := p.Services["surrey-housing"]; s.Owner != "surrey-cc" || p.Services["health-spine"].Owner != "" {
		t.Errorf("owners: surrey-housing %q, health-spine %q", s.Owner, p.Services["health-spine"].Owner)
	}
}
