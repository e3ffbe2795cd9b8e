package install

import (
	"compress/gzip"
	"debug/elf"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// installed is one path the package must put in place.
type installed struct {
	path     string
	mode     fs.FileMode // permission bits, plus fs.ModeDir for directories
	source   string      // file in the tree it must equal ("" = not compared)
	conffile bool
}

// wantInstalled lists every path the package owns, from the tree itself:
// the example rules are whatever rules/ holds.
func wantInstalled(t *testing.T, repo string) []installed {
	t.Helper()
	d := func(p string) string { return filepath.Join(repo, "deploy", p) }
	want := []installed{
		{path: "/usr/sbin/palisaded", mode: 0o755},
		{path: "/usr/bin/palisade", mode: 0o755},
		{path: "/etc/palisade", mode: fs.ModeDir | 0o750},
		{path: "/etc/palisade/palisaded.yaml", mode: 0o640, source: d("palisaded.yaml"), conffile: true},
		{path: "/lib/systemd/system/palisaded.service", mode: 0o644, source: d("palisaded.service")},
		{path: "/usr/share/doc/palisade/README.md", mode: 0o644, source: d("README.md")},
		{path: "/usr/share/doc/palisade/examples/palisade-policy-pull", mode: 0o755, source: d("examples/palisade-policy-pull")},
		{path: "/usr/share/doc/palisade/examples/palisade-policy-pull.service", mode: 0o644, source: d("examples/palisade-policy-pull.service")},
		{path: "/usr/share/doc/palisade/examples/palisade-policy-pull.timer", mode: 0o644, source: d("examples/palisade-policy-pull.timer")},
		{path: "/usr/share/palisade/grafana/palisade.json", mode: 0o644, source: d("grafana/palisade.json")},
		{path: "/usr/share/palisade/prometheus/alerts.yml", mode: 0o644, source: d("prometheus/alerts.yml")},
		{path: "/usr/share/man/man8/palisaded.8.gz", mode: 0o644, source: d("man/palisaded.8")},
		{path: "/usr/share/man/man8/palisade.8.gz", mode: 0o644, source: d("man/palisade.8")},
	}
	rules := filepath.Join(repo, "rules")
	err := filepath.WalkDir(rules, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(rules, p)
		dst := filepath.Join("/etc/palisade/rules", rel)
		if e.IsDir() {
			want = append(want, installed{path: dst, mode: fs.ModeDir | 0o750})
		} else {
			want = append(want, installed{path: dst, mode: 0o640, source: p, conffile: true})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// checkFiles compares the root with the list: modes, owner, contents, the
// conffiles dpkg recorded, and that dpkg installed nothing else.
func checkFiles(t *testing.T, r *dpkgRoot, want []installed) {
	t.Helper()
	var conffiles []string
	for _, w := range want {
		checkFile(t, r, w)
		if w.conffile {
			conffiles = append(conffiles, w.path)
		}
	}
	got := strings.Fields(mustRead(t, r.path("var/lib/dpkg/info/palisade.conffiles")))
	slices.Sort(got)
	slices.Sort(conffiles)
	if !slices.Equal(got, conffiles) {
		t.Errorf("conffiles = %v\nwant %v", got, conffiles)
	}
	for _, p := range strings.Fields(mustRead(t, r.path("var/lib/dpkg/info/palisade.list"))) {
		known := slices.ContainsFunc(want, func(w installed) bool { return w.path == p || strings.HasPrefix(w.path, p+"/") })
		if !known {
			t.Errorf("the package installs %s, which no test expects", p)
		}
	}
}

func checkFile(t *testing.T, r *dpkgRoot, w installed) {
	t.Helper()
	st, err := os.Lstat(r.path(w.path))
	if err != nil {
		t.Errorf("%s: %v", w.path, err)
		return
	}
	if got := st.Mode() & (fs.ModeDir | fs.ModePerm | fs.ModeSymlink); got != w.mode {
		t.Errorf("%s: mode %v, want %v", w.path, got, w.mode)
	}
	if sys, isUnix := st.Sys().(*syscall.Stat_t); isUnix && (sys.Uid != 0 || sys.Gid != 0) {
		t.Errorf("%s: owned by %d:%d, want root:root", w.path, sys.Uid, sys.Gid)
	}
	if w.source != "" && readMaybeGzip(t, r.path(w.path)) != mustRead(t, w.source) {
		t.Errorf("%s differs from %s", w.path, w.source)
	}
}

func readMaybeGzip(t *testing.T, path string) string {
	t.Helper()
	if !strings.HasSuffix(path, ".gz") {
		return mustRead(t, path)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return string(b)
}

// checkStatic: the binaries have no ELF interpreter, so they run on any
// Debian or Ubuntu release whatever its libc.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked", path)
		}
	}
}
