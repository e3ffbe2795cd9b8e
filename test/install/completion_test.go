package install

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// checkCompletion: the package ships palisade's bash and zsh completions,
// as the binary it ships generates them, and bash loads the script and
// completes with it (a command name, through `palisade __complete`).
func checkCompletion(t *testing.T, r *dpkgRoot) {
	cli := r.path("usr/bin/palisade")
	for shell, path := range map[string]string{
		"bash": "usr/share/bash-completion/completions/palisade",
		"zsh":  "usr/share/zsh/vendor-completions/_palisade",
	} {
		want, err := run(t, cli, "completion", shell)
		if err != nil {
			t.Fatalf("palisade completion %s: %v", shell, err)
		}
		if got := mustRead(t, r.path(path)); got != want {
			t.Errorf("/%s is not what the installed palisade generates", path)
		}
	}
	bash := r.path("usr/share/bash-completion/completions/palisade")
	if out, err := run(t, "bash", "-c", "source "+bash+" && complete -p palisade"); err != nil || !strings.Contains(out, "__start_palisade palisade") {
		t.Errorf("bash: source the completion, complete -p palisade: %v\n%s", err, out)
	}
	// Complete "palisade sta". Without Debian's bash-completion installed,
	// a stand-in for the one function of it the script needs.
	lib := "/usr/share/bash-completion/bash_completion"
	if _, err := os.Stat(lib); err != nil {
		lib = "/dev/null; " + getCompWords
	}
	script := "source " + lib + "; source " + bash + `
COMP_WORDS=(palisade sta); COMP_CWORD=1; COMP_LINE="palisade sta"; COMP_POINT=${#COMP_LINE}
__start_palisade palisade sta palisade
echo "${COMPREPLY[@]}"`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+r.path("usr/bin")+":"+os.Getenv("PATH"))
	var stderr strings.Builder
	cmd.Stderr = &stderr // compopt complains outside a real completion
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != "status" {
		t.Errorf("bash completion of \"palisade sta\": %v: %q\n%s", err, out, stderr.String())
	}
	zsh := mustRead(t, r.path("usr/share/zsh/vendor-completions/_palisade"))
	if !strings.HasPrefix(zsh, "#compdef palisade\n") {
		t.Errorf("the zsh completion does not start with #compdef palisade: %.40q", zsh)
	}
	if _, err := exec.LookPath("zsh"); err == nil {
		if out, err := run(t, "zsh", "-n", r.path("usr/share/zsh/vendor-completions/_palisade")); err != nil {
			t.Errorf("zsh -n _palisade: %v\n%s", err, out)
		}
	} else {
		t.Log("no zsh here: its completion's syntax is not checked")
	}
}

// getCompWords stands in for bash-completion's _get_comp_words_by_ref.
const getCompWords = `_get_comp_words_by_ref() {
	cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}
	words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD
}`
