package flows

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzRead starts the flow log on whatever bytes a file already holds (a
// torn line after a crash, another program's output, garbage), writes
// records with the fuzzer's fields, and reads the log back through a
// filter. Read must not panic or fail on short lines; every record it
// returns passes the filter, at most limit of them; and the records
// written, as JSON carries them, are the last ones returned: nothing
// already in the file may swallow or reorder them.
func FuzzRead(f *testing.F) {
	line, _ := json.Marshal(&Record{Timestamp: "2024-05-01T10:00:00.000000Z", FlowID: 7, EventType: "flow",
		Event: "start", SrcIP: "198.18.1.10", SrcPort: 40000, DestIP: "198.19.10.10", DestPort: 443, Proto: "TCP",
		Org: "surrey-cc", RuleID: "surrey-cc/web", Verdict: "allow", Packets: 1, Bytes: 60})
	f.Add(append(line, '\n'), "surrey-cc", "allow", "", uint8(3), int8(0), 0.5)
	f.Add([]byte(`{"timestamp":"2024-05-01T10:00:00.0`), "a", "drop", "drop", uint8(2), int8(1), 0.0)
	f.Add([]byte("null\n{}\n[1]\n\"x\"\n"), "", "drop", "deny", uint8(4), int8(-1), -1.0)
	f.Add([]byte("{\"org\":\"a\",\"verdict\":\"drop\"}\r\n\n\x00\x00\x00"), "a", "drop", "", uint8(1), int8(3), 1e300)
	f.Add([]byte{}, "\xff", "allow", "allow", uint8(2), int8(2), 0.0)
	f.Fuzz(func(t *testing.T, before []byte, org, verdict, want string, n uint8, limit int8, dur float64) {
		if len(before) >= 1<<20 {
			return // a line too long for the reader is an error, by design
		}
		path := filepath.Join(t.TempDir(), "flows.json")
		if err := os.WriteFile(path, before, 0o600); err != nil {
			t.Fatal(err)
		}
		fl, err := OpenFile(path, 1<<30, 1)
		if err != nil {
			t.Fatal(err)
		}
		flt := Filter{Org: org, Verdict: want}
		var matched []Record
		for i := range int(n % 5) {
			r := Record{EventType: "drop", Org: org, Verdict: verdict, Packets: uint64(i), Duration: dur}
			if i%2 == 1 {
				r.Org, r.Verdict, r.DropReason = "b", "drop", "no_rule"
			}
			if err := fl.Write(&r); err != nil {
				continue // not JSON (a NaN duration): not written
			}
			b, _ := json.Marshal(&r)
			var back Record
			json.Unmarshal(b, &back) // what the line carries
			if flt.Match(&back) {
				matched = append(matched, back)
			}
		}
		fl.Close()
		got, err := Read(path, 1, flt, int(limit))
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if limit > 0 && len(got) > int(limit) {
			t.Errorf("%d records, limit %d", len(got), limit)
		}
		for _, r := range got {
			if !flt.Match(&r) {
				t.Errorf("%+v does not pass %+v", r, flt)
			}
		}
		if limit > 0 && len(matched) > int(limit) {
			matched = matched[len(matched)-int(limit):]
		}
		if len(got) < len(matched) || !slices.Equal(got[len(got)-len(matched):], matched) {
			t.Fatalf("after %q read back\n%+v\nwant it to end with\n%+v", before, got, matched)
		}
	})
}
