package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/goreleaser/nfpm/v2/files"
)

// Where Debian's bash-completion and zsh look for a package's completions.
const (
	bashCompletion = "/usr/share/bash-completion/completions/palisade"
	zshCompletion  = "/usr/share/zsh/vendor-completions/_palisade"
)

// completions has palisade write its own bash and zsh completion scripts
// (cobra's GenBashCompletionV2 and GenZshCompletion, behind `palisade
// completion`) into stage, so they always match the commands and flags of
// the binary they ship with.
func completions(o options, bin, stage string) (files.Contents, error) {
	cli, err := hostCLI(o, bin, stage)
	if err != nil {
		return nil, err
	}
	var c files.Contents
	for _, sh := range []struct{ shell, dst string }{{"bash", bashCompletion}, {"zsh", zshCompletion}} {
		out, err := exec.Command(cli, "completion", sh.shell).Output()
		if err != nil {
			return nil, fmt.Errorf("palisade completion %s: %w", sh.shell, err)
		}
		src := filepath.Join(stage, "completion."+sh.shell)
		if err := os.WriteFile(src, out, 0o644); err != nil {
			return nil, err
		}
		c = append(c, file(src, sh.dst, 0o644))
	}
	return c, nil
}

// hostCLI is a palisade this machine can run: the packaged one, or, when
// the package is for another architecture, one built for this machine.
func hostCLI(o options, bin, stage string) (string, error) {
	if o.arch == runtime.GOARCH && runtime.GOOS == "linux" {
		return filepath.Join(bin, "palisade"), nil
	}
	out := filepath.Join(stage, "palisade-host")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/palisade")
	cmd.Dir = o.root
	cmd.Env = append(os.Environ(), "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build palisade for this machine, to generate completions: %w\n%s", err, msg)
	}
	return out, nil
}
