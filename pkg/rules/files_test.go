package rules

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const filesOrg = "organisation: a\nname: A\ningress: [{interface: org0}]\nprefixes: [198.18.1.0/24]\nallow:\n  - service: web\n"

// loadWithin runs load and fails the test if it does not return within a
// few seconds: a FIFO or /dev/zero read would hang it forever.
func loadWithin(t *testing.T, load func() (*Policy, error)) (*Policy, error) {
	t.Helper()
	type result struct {
		p   *Policy
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := load()
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		return r.p, r.err
	case <-time.After(5 * time.Second):
		t.Fatal("Load still running after 5s: it is reading something that never ends")
		return nil, nil
	}
}

// refusedIn loads dir and returns its errors as relative lines, failing if
// Load succeeds, hangs, or fails without an ErrorList.
func refusedIn(t *testing.T, dir string) []string {
	t.Helper()
	var lines []string
	_, err := loadWithin(t, func() (*Policy, error) {
		lines = nil
		p, err := Load(dir)
		if err == nil {
			return p, nil
		}
		if list, ok := err.(ErrorList); ok {
			lines = relLines(dir, list)
		}
		return nil, err
	})
	if err == nil {
		t.Fatal("Load accepted the directory")
	}
	if lines == nil {
		t.Fatalf("Load error is %T (%v), want an ErrorList", err, err)
	}
	return lines
}

func TestLoadRefusesWhatIsNotAPolicyFile(t *testing.T) {
	outside := writePolicy(t, map[string]string{"org.yaml": filesOrg})
	cases := []struct {
		name string
		make func(t *testing.T, dir string)
		want string
	}{
		{"link to /dev/zero", func(t *testing.T, dir string) {
			must(t, os.Symlink("/dev/zero", filepath.Join(dir, "x.yaml")))
		}, "x.yaml:1:1: is a symbolic link (to /dev/zero); policy files must be regular files inside the rules directory, so that what is enforced is what was reviewed"},
		{"link to a policy file outside", func(t *testing.T, dir string) {
			must(t, os.Symlink(filepath.Join(outside, "org.yaml"), filepath.Join(dir, "org.yaml")))
		}, "org.yaml:1:1: is a symbolic link (to " + filepath.Join(outside, "org.yaml") + "); policy files must be regular files"},
		{"link to a file inside", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "real.txt"), []byte(filesOrg), 0o644))
			must(t, os.Symlink("real.txt", filepath.Join(dir, "org.yml")))
		}, "org.yml:1:1: is a symbolic link (to real.txt)"},
		{"link to a directory", func(t *testing.T, dir string) {
			must(t, os.Symlink(outside, filepath.Join(dir, "orgs")))
		}, "orgs:1:1: is a symbolic link to a directory (" + outside + "); policy files are read only inside the rules directory"},
		{"FIFO", func(t *testing.T, dir string) {
			must(t, syscall.Mkfifo(filepath.Join(dir, "x.yaml"), 0o644))
		}, "x.yaml:1:1: is a named pipe (FIFO), not a regular file; a policy file must be a plain file"},
		{"directory named y.yaml", func(t *testing.T, dir string) {
			must(t, os.MkdirAll(filepath.Join(dir, "sub", "y.yaml"), 0o755))
			must(t, os.WriteFile(filepath.Join(dir, "sub", "y.yaml", "org.yaml"), []byte(filesOrg), 0o644))
		}, "sub/y.yaml:1:1: is a directory; a policy file must be a plain file"},
		{"file over 4 MiB", func(t *testing.T, dir string) {
			f, err := os.Create(filepath.Join(dir, "big.yaml"))
			must(t, err)
			must(t, f.Truncate(maxFileBytes+1))
			f.Close()
		}, "big.yaml:1:1: is larger than 4 MiB, the most a policy file may hold"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writePolicy(t, map[string]string{"services.yaml": testServices})
			tc.make(t, dir)
			got := refusedIn(t, dir)
			if len(got) != 1 || !strings.HasPrefix(got[0], tc.want) {
				t.Errorf("errors:\n  %s\nwant one starting %q", strings.Join(got, "\n  "), tc.want)
			}
		})
	}
}

// Every refused file is named in one run, and none of the files is decoded
// meanwhile: a refused services file would otherwise make every rule's
// service "unknown" too.
func TestLoadRefusesAllAtOnce(t *testing.T) {
	dir := writePolicy(t, map[string]string{"org.yaml": filesOrg})
	must(t, os.Symlink("/dev/zero", filepath.Join(dir, "services.yaml")))
	must(t, syscall.Mkfifo(filepath.Join(dir, "z.yaml"), 0o644))
	got := refusedIn(t, dir)
	if len(got) != 2 || !strings.HasPrefix(got[0], "services.yaml:1:1: is a symbolic link") || !strings.HasPrefix(got[1], "z.yaml:1:1: is a named pipe") {
		t.Errorf("errors:\n  %s", strings.Join(got, "\n  "))
	}
}

// The directory Load is given may itself be a link (the operator named
// it); links with names that are not policy files are not followed and
// not refused.
func TestLoadAllowsALinkedRootAndOtherLinks(t *testing.T) {
	dir := writePolicy(t, map[string]string{"services.yaml": testServices, "org.yaml": filesOrg})
	must(t, os.Symlink("/dev/zero", filepath.Join(dir, "README.md")))
	link := filepath.Join(t.TempDir(), "rules")
	must(t, os.Symlink(dir, link))
	p, err := loadWithin(t, func() (*Policy, error) { return Load(link) })
	if err != nil || len(p.Orgs) != 1 {
		t.Fatalf("Load(%s): %v", link, err)
	}
}

func TestLoadBoundsThePolicyInAll(t *testing.T) {
	dir := writePolicy(t, map[string]string{
		"a.yaml": "a: " + strings.Repeat("x", 90) + "\n",
		"b.yaml": "b: " + strings.Repeat("x", 90) + "\n",
		"c.yaml": "c: 1\n",
	})
	_, err := loadBounded(dir, time.Now(), readBounds{file: 100, total: 150})
	list, ok := err.(ErrorList)
	if !ok || len(list) != 1 {
		t.Fatalf("err = %v, want one refusal", err)
	}
	if got, want := relLines(dir, list)[0], "b.yaml:1:1: takes the policy files past 150 bytes in all, the most one rules directory may hold; not read further"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// A file that grows after fstat (its size read as small) is still read
// only to the bound.
func TestReadFileBoundsAGrowingFile(t *testing.T) {
	dir := writePolicy(t, map[string]string{"g.yaml": strings.Repeat("x", 200)})
	f, err := os.Open(filepath.Join(dir, "g.yaml"))
	must(t, err)
	defer f.Close()
	r := &fileReader{bounds: readBounds{file: 100, total: 1000}}
	must(t, r.readFile(f, "g.yaml", 10))
	if len(r.files) != 0 || len(r.f.errs) != 1 || !strings.Contains(r.f.errs[0].Msg, "larger than 100 bytes") {
		t.Errorf("files %d, errors %v", len(r.files), ErrorList(r.f.errs))
	}
}

// An entry the listing showed as a regular file may be something else by
// the time it is opened: the open must not block on it, and fstat must
// refuse it before any read.
func TestEntryChecksTheOpenFile(t *testing.T) {
	dir := t.TempDir()
	must(t, syscall.Mkfifo(filepath.Join(dir, "x.yaml"), 0o644))
	must(t, os.Symlink("/dev/zero", filepath.Join(dir, "l.yaml")))
	d, err := os.Open(dir)
	must(t, err)
	defer d.Close()
	dev, err := os.Open("/dev")
	must(t, err)
	defer dev.Close()
	r := &fileReader{bounds: readBounds{file: maxFileBytes, total: maxPolicyBytes}}
	_, err = loadWithin(t, func() (*Policy, error) {
		for _, e := range []struct {
			dir        *os.File
			path, name string
		}{{d, filepath.Join(dir, "x.yaml"), "x.yaml"}, {d, filepath.Join(dir, "l.yaml"), "l.yaml"}, {dev, "/dev/zero", "zero"}} {
			if err := r.entry(e.dir, e.path, e.name); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	must(t, err)
	got := relLines(dir, r.f.errs)
	want := []string{
		"x.yaml:1:1: is a named pipe (FIFO), not a regular file",
		"l.yaml:1:1: is a symbolic link (to /dev/zero)",
		"/dev/zero:1:1: is a character device, not a regular file",
	}
	if len(got) != len(want) || len(r.files) != 0 {
		t.Fatalf("errors %q, files %d", got, len(r.files))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d = %q, want %q...", i, got[i], want[i])
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
