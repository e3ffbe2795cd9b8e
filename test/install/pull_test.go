package install

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyPull runs the shipped pull-and-apply script against a local
// policy repository: a valid commit is fast-forwarded and reloaded; an
// invalid one, or rewritten history, is refused and the checkout stays.
// systemctl is a fake that logs; palisade is the real CLI.
func TestPolicyPull(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("needs git")
	}
	repo := moduleRoot(t)
	base := t.TempDir()
	bin := filepath.Join(base, "bin")
	if out, err := goCmd(repo, "build", "-o", bin+"/", "./cmd/palisade").CombinedOutput(); err != nil {
		t.Fatalf("build palisade: %v\n%s", err, out)
	}
	mustWrite(t, filepath.Join(bin, "systemctl"), fakeCommand, 0o755)
	origin, live := filepath.Join(base, "origin"), filepath.Join(base, "live")
	git(t, "", "init", "-q", "-b", "main", origin)
	if out, err := exec.Command("cp", "-r", filepath.Join(repo, "rules")+"/.", origin).CombinedOutput(); err != nil {
		t.Fatalf("cp rules: %v\n%s", err, out)
	}
	commitAll(t, origin, "example policy")
	git(t, "", "clone", "-q", origin, live)

	log := filepath.Join(base, "calls.log")
	pull := func() (string, error) {
		cmd := exec.Command(filepath.Join(repo, "deploy/examples/palisade-policy-pull"))
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "FAKE_LOG="+log,
			"PALISADE_POLICY_REPO="+live, "PALISADE_POLICY_BRANCH=main")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	head := func() string { return strings.TrimSpace(git(t, live, "rev-parse", "HEAD")) }

	if out, err := pull(); err != nil || fileExists(log) {
		t.Fatalf("nothing new: %v, reloaded=%v\n%s", err, fileExists(log), out)
	}
	surrey := filepath.Join(origin, "organisations", "surrey-cc.yaml")
	good := mustRead(t, surrey)
	mustWrite(t, surrey, strings.Replace(good, "Surrey County Council", "Surrey CC", 1), 0o644)
	commitAll(t, origin, "rename")
	if out, err := pull(); err != nil || head() != strings.TrimSpace(git(t, origin, "rev-parse", "HEAD")) {
		t.Fatalf("valid commit not applied: %v\n%s", err, out)
	}
	assertContains(t, "reload", mustRead(t, log), "systemctl reload palisaded.service")
	os.Remove(log)

	applied := head()
	mustWrite(t, surrey, strings.Replace(good, "198.18.1.0/24", "198.18.1.0/33", 1), 0o644)
	commitAll(t, origin, "broken prefix")
	out, err := pull()
	if err == nil || head() != applied || fileExists(log) {
		t.Fatalf("invalid commit: err %v, head moved %v, reloaded %v\n%s", err, head() != applied, fileExists(log), out)
	}
	assertContains(t, "refusal", out, "surrey-cc.yaml:", "stays in force")

	git(t, origin, "reset", "-q", "--hard", "HEAD~2")
	mustWrite(t, surrey, strings.Replace(good, "Surrey County Council", "Surrey C.C.", 1), 0o644)
	commitAll(t, origin, "rewritten history")
	if out, err := pull(); err == nil || head() != applied || !strings.Contains(out, "history rewritten") {
		t.Fatalf("rewritten history applied (err %v):\n%s", err, out)
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func commitAll(t *testing.T, dir, msg string) {
	t.Helper()
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-q", "-m", msg)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
