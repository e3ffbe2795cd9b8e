package audit

import (
	"bytes"
	"testing"
	"time"
)

// fuzzLog is a valid log of n records carrying the fuzzer's fields.
func fuzzLog(t *testing.T, n int, user, action, detail string) []byte {
	var log []byte
	prev := ""
	for i := range n {
		r := Record{Time: time.Unix(1700000000+int64(i), 0).UTC(), User: user, Action: action,
			Subject: "surrey-cc", Result: "ok", Detail: Detail(map[string]string{"why": detail})}
		if i == 1 {
			r.Digest, r.Time = "sha256:"+detail, r.Time.In(time.FixedZone("", 3600))
		}
		r, line, err := seal(r, uint64(i+1), prev)
		if err != nil {
			t.Fatal(err)
		}
		log, prev = append(append(log, line...), '\n'), r.Hash
	}
	return log
}

// FuzzVerify writes a valid log from the fuzzer's fields, then changes it
// in one place: cut bytes at an offset and insert others there. Verify
// must accept the log as written, with all its records, and never accept
// a changed one, except one cut at the end of a line: the chain cannot see
// records cut off its end (the agent's remembered head does). Read and
// Verify agree on any bytes.
func FuzzVerify(f *testing.F) {
	f.Add("root", "apply", "plan +2 -1", uint8(3), uint16(40), uint8(1), []byte("X"))
	f.Add("root", "suspend", "", uint8(2), uint16(0), uint8(0), []byte(`{"seq":0}`+"\n"))
	f.Add("palisaded", "restore", "<&>", uint8(4), uint16(9999), uint8(1), []byte{})
	f.Add("root", "capture", "ünïcode", uint8(1), uint16(7), uint8(0), []byte(" "))
	f.Add("root", "apply", "x", uint8(2), uint16(1), uint8(6), []byte(`"seq"`))
	f.Fuzz(func(t *testing.T, user, action, detail string, n uint8, at uint16, cut uint8, insert []byte) {
		log := fuzzLog(t, int(n%5), user, action, detail)
		if got, err := verify(bytes.NewReader(log), "fuzz"); err != nil || got != int(n%5) {
			t.Fatalf("the log as written: %d records, %v; want %d\n%s", got, err, n%5, log)
		}
		i := int(at) % (len(log) + 1)
		j := min(i+int(cut), len(log))
		changed := append(append(append([]byte{}, log[:i]...), insert...), log[j:]...)
		got, err := verify(bytes.NewReader(changed), "fuzz")
		if err == nil && !cutAtLineEnd(log, changed) {
			t.Fatalf("a changed log verified (%d records):\n%s\nwritten as:\n%s", got, changed, log)
		}
		recs, rerr := readFrom(changed)
		if err == nil && (rerr != nil || len(recs) != got) {
			t.Fatalf("verified %d records, read %d (%v)", got, len(recs), rerr)
		}
	})
}

// cutAtLineEnd says whether changed is log with whole lines cut off its
// end (the last kept line may lose its newline).
func cutAtLineEnd(log, changed []byte) bool {
	if !bytes.HasPrefix(log, changed) {
		return false
	}
	k := len(changed)
	return k == 0 || k == len(log) || log[k-1] == '\n' || log[k] == '\n'
}

func readFrom(b []byte) ([]Record, error) {
	var out []Record
	err := eachRecord(bytes.NewReader(b), "fuzz", func(_ []byte, r Record) error {
		out = append(out, r)
		return nil
	})
	return out, err
}
