package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-psn/palisade/internal/fsfault"
)

// A record that cannot be written is an error, and the log stays as it
// was: on a full disk, whatever part of the line got in is cut off again,
// so the chain still verifies and the next append, once there is room,
// follows it.
func TestAppendOnFullDisk(t *testing.T) {
	fs := fsfault.Mount(t, 64<<10)
	path := filepath.Join(fs.Path, "audit.log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(Record{User: "root", Action: "apply", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	fs.Fill()
	// A record larger than any slack left in the file's last page.
	big := Record{User: "root", Action: "suspend", Subject: "surrey-cc", Result: "ok",
		Detail: Detail(map[string]string{"reason": strings.Repeat("x", 8192)})}
	_, err = l.Append(big)
	if err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("append on a full disk: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatalf("the failed append left %d bytes behind", len(after)-len(before))
	}
	fs.Free()
	if _, err := l.Append(big); err != nil {
		t.Fatal(err)
	}
	if n, err := Verify(path); err != nil || n != 2 {
		t.Errorf("Verify = %d, %v; want 2 records, intact", n, err)
	}
}

// Root writes through file permissions, not through a read-only mount.
func TestAppendReadOnly(t *testing.T) {
	fs := fsfault.Mount(t, 64<<10)
	path := filepath.Join(fs.Path, "audit.log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(Record{User: "root", Action: "apply", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	fs.ReadOnly()
	if _, err := l.Append(Record{User: "root", Action: "apply", Result: "ok"}); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("append to a read-only log: %v", err)
	}
	fs.Writable()
	if r, err := l.Append(Record{User: "root", Action: "apply", Result: "ok"}); err != nil || r.Seq != 2 {
		t.Fatalf("append after: seq %d, %v", r.Seq, err)
	}
}

// Two writers (the agent and `palisade clean`) keep one chain.
func TestTwoWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a, _ := Open(path)
	b, _ := Open(path)
	for i, l := range []*Log{a, b, a, a, b} {
		r, err := l.Append(Record{User: "root", Action: "apply", Result: "ok"})
		if err != nil || r.Seq != uint64(i+1) {
			t.Fatalf("append %d: seq %d, %v", i, r.Seq, err)
		}
	}
	if n, err := Verify(path); err != nil || n != 5 {
		t.Errorf("Verify = %d, %v; want 5 records, intact", n, err)
	}
	// A log that ends in half a record is not chained onto.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"seq":6,"ti`)
	f.Close()
	if _, err := a.Append(Record{User: "root", Action: "apply", Result: "ok"}); err == nil {
		t.Error("appended after half a record")
	}
}
