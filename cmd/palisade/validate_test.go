package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRoot(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestValidateExamplePolicy(t *testing.T) {
	out, err := runCLI(t, "validate", "../../rules")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 3 || !strings.HasPrefix(lines[2], "ok: 5 organisations") {
		t.Fatalf("validate rules/: err %v, output:\n%s", err, out)
	}
	// surrey-cc and mole-valley-dc share org0 untagged: a warning, not an error.
	for i, at := range []string{"mole-valley-dc.yaml:10:5", "surrey-cc.yaml:9:5"} {
		if !strings.HasPrefix(lines[i], "warning: ") || !strings.Contains(lines[i], at+": ingress org0 is shared with organisation") {
			t.Errorf("line %d = %q, want the shared ingress warning at %s", i+1, lines[i], at)
		}
	}
}

func TestValidateReportsEveryError(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "organisations"), 0o755)
	os.WriteFile(filepath.Join(dir, "services.yaml"), []byte("services:\n  web:\n    to: [198.19.10.0/24]\n    ports: [\"443/tcp\"]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "organisations", "a.yaml"), []byte(
		"organisation: a\nname: A\ningress:\n  - interface: org0\nprefixes: [198.18.1.0/33]\nallow:\n  - service: nope\n"), 0o644)
	out, err := runCLI(t, "validate", dir, "-o", "json")
	if err == nil {
		t.Fatal("validate accepted a broken policy")
	}
	var r validateReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("json output: %v\n%s", err, out)
	}
	file := filepath.Join(dir, "organisations", "a.yaml")
	want := []string{file + ":5:", file + ":7:"}
	if r.OK || len(r.Errors) != len(want) {
		t.Fatalf("errors = %q, want %d", r.Errors, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(r.Errors[i], w) {
			t.Errorf("error %d = %q, want it at %s", i, r.Errors[i], w)
		}
	}
}

func TestValidateWarnsOfExpiringCertificates(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../../rules", dir)
	org := filepath.Join(dir, "organisations", "surrey-police.yaml")
	b, _ := os.ReadFile(org)
	soon := time.Now().AddDate(0, 0, 10).Format(time.DateOnly)
	text := strings.Replace(string(b), "state: active\n", "state: active\ncertificate: {expires: "+soon+"}\n", 1)
	os.WriteFile(org, []byte(text), 0o644)
	line := strings.Count(text[:strings.Index(text, "certificate:")], "\n") + 1
	out, err := runCLI(t, "validate", dir)
	want := fmt.Sprintf("surrey-police.yaml:%d:24: compliance certificate of surrey-police expires in 11 day(s)", line)
	if err != nil || !strings.Contains(out, want) {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
}

// validate on a rules directory holding things that are not policy files:
// each is refused by name at file:1:1, in one run, and nothing is read
// from /dev/zero or a FIFO (which would hang it).
func TestValidateRefusesWhatIsNotAPolicyFile(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../../rules", dir)
	outside := filepath.Join(t.TempDir(), "org.yaml")
	os.WriteFile(outside, []byte("organisation: x\nname: X\ningress: [{interface: org9}]\nprefixes: [198.18.9.0/24]\n"), 0o644)
	orgs := filepath.Join(dir, "organisations")
	for _, err := range []error{
		os.Symlink("/dev/zero", filepath.Join(dir, "x.yaml")),
		os.Symlink(outside, filepath.Join(orgs, "outside.yaml")),
		syscall.Mkfifo(filepath.Join(orgs, "fifo.yaml"), 0o644),
		os.Mkdir(filepath.Join(orgs, "y.yaml"), 0o755),
		os.WriteFile(filepath.Join(orgs, "big.yaml"), bytes.Repeat([]byte("# padding\n"), 420000), 0o644),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := runCLI(t, "validate", dir)
		done <- result{out, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("validate still running after 10s: it is reading a file that never ends")
	}
	want := []string{
		filepath.Join(orgs, "big.yaml") + ":1:1: is larger than 4 MiB, the most a policy file may hold",
		filepath.Join(orgs, "fifo.yaml") + ":1:1: is a named pipe (FIFO), not a regular file; a policy file must be a plain file",
		filepath.Join(orgs, "outside.yaml") + ":1:1: is a symbolic link (to " + outside + "); policy files must be regular files inside the rules directory, so that what is enforced is what was reviewed",
		filepath.Join(orgs, "y.yaml") + ":1:1: is a directory; a policy file must be a plain file",
		filepath.Join(dir, "x.yaml") + ":1:1: is a symbolic link (to /dev/zero); policy files must be regular files inside the rules directory, so that what is enforced is what was reviewed",
		"5 error(s): rules refused",
	}
	if got := strings.TrimSpace(r.out); r.err == nil || got != strings.Join(want, "\n") {
		t.Errorf("err %v, output:\n%s\nwant:\n%s", r.err, got, strings.Join(want, "\n"))
	}
}

// Issue 19: with health-spine added to surrey-cc's offers, validate passed
// and explain let surrey-police reach the NHS spine. An organisation may
// offer only what it owns: the spine has no owner, so validate refuses it
// where it is offered; surrey-cc offering a second service of its own
// passes.
func TestValidateAgreementOffersOnlyOwnServices(t *testing.T) {
	edit := func(t *testing.T, dir, file, old, new string) {
		t.Helper()
		path := filepath.Join(dir, file)
		b, _ := os.ReadFile(path)
		if !strings.Contains(string(b), old) {
			t.Fatalf("%s has no %q", file, old)
		}
		os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644)
	}
	hostile := t.TempDir()
	copyDir(t, "../../rules", hostile)
	edit(t, hostile, "organisations/surrey-cc.yaml", "offers: [surrey-social-care]", "offers: [surrey-social-care, health-spine]")
	out, err := runCLI(t, "validate", hostile)
	want := filepath.Join(hostile, "organisations", "surrey-cc.yaml") + `:33:34: agreement "safeguarding-2026" offers service "health-spine", which has no owner: a shared service is granted by allow rules, never offered; an organisation may offer only services it owns` +
		"\n1 error(s): rules refused\n"
	if err == nil || out != want {
		t.Errorf("hostile offer: err %v, output:\n%s\nwant:\n%s", err, out, want)
	}

	benign := t.TempDir()
	copyDir(t, "../../rules", benign)
	edit(t, benign, "services.yaml", "  police-safeguarding:", "  surrey-housing:\n    owner: surrey-cc\n    to: [198.18.1.20/32]\n    ports: [\"443/tcp\"]\n  police-safeguarding:")
	edit(t, benign, "organisations/surrey-cc.yaml", "offers: [surrey-social-care]", "offers: [surrey-social-care, surrey-housing]")
	out, err = runCLI(t, "validate", benign, "-o", "json")
	var r validateReport
	if jerr := json.Unmarshal([]byte(out), &r); err != nil || jerr != nil || !r.OK || len(r.Errors) != 0 {
		t.Fatalf("owner offering its own service: err %v, output:\n%s", err, out)
	}
	// And the boundary it describes lets the police in, under the agreement.
	out, err = runCLI(t, "explain", benign, "--offline", "--from", "198.18.3.10@org1", "--to", "198.18.1.20:443/tcp")
	if err != nil || !strings.Contains(out, "surrey-police/safeguarding-2026.surrey-housing") || !strings.Contains(out, "data-sharing agreement safeguarding-2026 with surrey-cc allows it") {
		t.Errorf("explain: err %v, output:\n%s", err, out)
	}
	// explain on the hostile rules refuses them too: no answer from rules
	// that do not load.
	if out, err := runCLI(t, "explain", hostile, "--offline", "--from", "198.18.3.10@org1", "--to", "198.19.11.10:443/tcp"); err == nil {
		t.Errorf("explain answered for the hostile rules:\n%s", out)
	}
}
