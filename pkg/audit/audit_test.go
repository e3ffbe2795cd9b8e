package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestChainDetectsTampering(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"apply", "suspend", "restore"} {
		if _, err := l.Append(Record{User: "root", Action: a, Result: "ok", Detail: Detail(map[string]int{"n": 1})}); err != nil {
			t.Fatal(err)
		}
	}
	// A reopened log goes on with the same chain.
	l2, _ := Open(path)
	if _, err := l2.Append(Record{User: "root", Action: "apply", Result: "refused"}); err != nil {
		t.Fatal(err)
	}
	if n, err := Verify(path); err != nil || n != 4 {
		t.Fatalf("Verify = %d, %v; want 4 records, intact", n, err)
	}
	good, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(good), "\n")
	cases := map[string]string{
		"edited":  strings.Replace(string(good), `"action":"suspend"`, `"action":"restore"`, 1),
		"deleted": lines[0] + lines[2] + lines[3],
		"swapped": lines[1] + lines[0] + lines[2] + lines[3],
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			os.WriteFile(path, []byte(text), 0o640)
			if _, err := Verify(path); err == nil {
				t.Errorf("a %s record went unnoticed", name)
			} else {
				t.Log(err)
			}
		})
	}
}
