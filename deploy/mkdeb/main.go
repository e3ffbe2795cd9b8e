// Command mkdeb builds Palisade's Debian package (`make package`): it
// compiles palisaded and palisade with the version stamped in, gathers the
// unit, default config, example rules, man pages and maintainer scripts
// from the tree, has palisade generate its bash and zsh completions, and
// writes the .deb with nfpm used as a library, so the build downloads no
// packaging tool. Run it from the module root.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
)

type options struct {
	version string // as the binaries report it, e.g. v1.2.0 or a git describe
	arch    string // GOARCH
	root    string // module root: where cmd/, deploy/ and rules/ are
	out     string // output directory

	maintainer string
}

func main() {
	var o options
	flag.StringVar(&o.version, "version", "dev", "version stamped into the binaries (-X main.version) and, made Debian-shaped, the package")
	flag.StringVar(&o.arch, "arch", envOr("GOARCH", runtime.GOARCH), "target GOARCH")
	flag.StringVar(&o.root, "root", ".", "module root")
	flag.StringVar(&o.out, "out", "dist", "output directory")
	flag.StringVar(&o.maintainer, "maintainer", "Palisade maintainers <palisade@example.invalid>", "Maintainer field of the package")
	flag.Parse()
	path, err := build(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkdeb:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

// build compiles the binaries into a scratch directory and packages them.
func build(o options) (string, error) {
	bin, err := os.MkdirTemp("", "palisade-mkdeb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(bin)
	if err := compile(o, bin); err != nil {
		return "", err
	}
	stage, err := os.MkdirTemp("", "palisade-mkdeb-stage-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)
	contents, err := contents(o.root, bin, stage)
	if err != nil {
		return "", err
	}
	comp, err := completions(o, bin, stage)
	if err != nil {
		return "", err
	}
	contents = append(contents, comp...)
	return writeDeb(o, packageInfo(o, contents))
}

// compile builds both commands. CGO is off unless the caller set it, so the
// binaries run on any Debian or Ubuntu release whatever its libc.
func compile(o options, dir string) error {
	cmd := exec.Command("go", "build", "-trimpath",
		"-ldflags", "-X main.version="+o.version,
		"-o", dir+string(filepath.Separator), "./cmd/palisaded", "./cmd/palisade")
	cmd.Dir = o.root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+o.arch, "CGO_ENABLED="+envOr("CGO_ENABLED", "0"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}

func writeDeb(o options, info *nfpm.Info) (string, error) {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return "", err
	}
	pkg := deb.Default
	path := filepath.Join(o.out, pkg.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := pkg.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("package %s: %w", path, err)
	}
	return path, f.Close()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
