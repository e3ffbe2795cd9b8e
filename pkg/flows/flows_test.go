package flows

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRotation writes past the size bound: files rotate, only keep of them
// stay, and Read returns the newest records in order.
func TestRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.json")
	f, err := OpenFile(path, 1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		org := "a"
		if i%2 == 1 {
			org = "b"
		}
		if err := f.Write(&Record{EventType: "flow", Org: org, Verdict: "allow", Packets: uint64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	if _, rotated := f.Stats(); rotated == 0 {
		t.Fatal("no rotation")
	}
	for _, p := range []string{path, path + ".1", path + ".2"} {
		st, err := os.Stat(p)
		if err != nil || st.Size() > 1024 {
			t.Errorf("%s: %v, size %v", p, err, st)
		}
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("more files kept than asked")
	}
	recs, err := Read(path, 2, Filter{Org: "b"}, 5)
	if err != nil || len(recs) != 5 || recs[4].Packets != 99 || recs[0].Packets != 91 {
		t.Errorf("read: %v %+v", err, recs)
	}
}

func TestFlowIDBothDirections(t *testing.T) {
	a, b := [4]uint32{1}, [4]uint32{2}
	lo, hi, lp, hp := canonical(a, b, 5000, 443)
	lo2, hi2, lp2, hp2 := canonical(b, a, 443, 5000)
	if FlowID(lo, hi, lp, hp, 6, 7) != FlowID(lo2, hi2, lp2, hp2, 6, 7) {
		t.Error("the two directions of a flow get different ids")
	}
	if FlowID(lo, hi, lp, hp, 6, 7) == FlowID(lo, hi, lp, hp, 6, 8) {
		t.Error("flows started at different times share an id")
	}
	if !(Filter{Verdict: "deny"}).Match(&Record{Verdict: "drop"}) {
		t.Error("deny does not select drops")
	}
}

// A line torn by a crash does not swallow the first record written after
// the restart (it did: FuzzRead's torn-line seed).
func TestTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.json")
	os.WriteFile(path, []byte(`{"timestamp":"2024-05-01T10:00:00.0`), 0o640)
	f, err := OpenFile(path, 1<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Write(&Record{EventType: "flow", Org: "a", Verdict: "allow"}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if recs, err := Read(path, 1, Filter{}, 0); err != nil || len(recs) != 1 || recs[0].Org != "a" {
		t.Errorf("read %+v, %v; want the record written", recs, err)
	}
}
