// Package audit is the append-only, hash-chained audit log of what changed
// the boundary: every apply, suspension, restoration and capture, who asked
// (the local user), and whether it succeeded. Each record carries the hash
// of the one before it, so an edited, reordered or deleted record breaks the
// chain and Verify says where. This is the evidence a compliance assessor
// asks for.
package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultPath is where palisaded keeps its audit log.
const DefaultPath = "/var/lib/palisade/audit.log"

// Record is one line of the log.
type Record struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	User    string    `json:"user"`                    // local user who asked
	Action  string    `json:"action"`                  // apply, suspend, restore, capture...
	Subject string    `json:"subject,omitempty"`       // organisation, rules directory, capture scope
	Digest  string    `json:"policy_digest,omitempty"` // the rules' digest, as `palisade validate` prints it
	// StateDigest is the policy with the runtime narrowing (suspensions,
	// lapsed certificates) the change left in force; absent from records
	// older than it, which hash as they did.
	StateDigest string          `json:"state_digest,omitempty"`
	Result      string          `json:"result"` // ok, refused or error
	Detail      json.RawMessage `json:"detail,omitempty"`
	Prev        string          `json:"prev"` // hash of the record before; "" for the first
	Hash        string          `json:"hash"` // sha256 of this record with Hash empty
}

// Log appends records to one file. More than one Log (the agent's, a
// CLI's `palisade clean`) may append to the same file: each append locks
// the file and chains to the record really at its end.
type Log struct {
	mu   sync.Mutex
	path string
	seq  uint64
	last string
	end  int64 // the file's size after the last record this Log knows of
}

// Open opens (or creates) the log and finds the end of its chain.
func Open(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("audit log directory: %w", err)
	}
	l := &Log{path: path, end: -1}
	if err := l.resync(); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return l, nil
}

// resync reads the chain's end from the file.
func (l *Log) resync() error {
	f, err := os.Open(l.path)
	if err != nil {
		return err
	}
	defer f.Close()
	var n int64
	l.seq, l.last = 0, ""
	err = eachRecord(f, l.path, func(line []byte, r Record) error {
		l.seq, l.last, n = r.Seq, r.Hash, n+int64(len(line))+1
		return nil
	})
	l.end = n
	return err
}

// Append chains r to the log and writes it durably. Seq, Time, Prev and
// Hash are filled in. An error means the record is not in the log, and the
// change it describes must not be made: a write that fails part way (a
// full disk) is cut off again, so the log never ends in half a record.
func (l *Log) Append(r Record) (Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return r, fmt.Errorf("open audit log: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return r, fmt.Errorf("lock audit log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		return r, fmt.Errorf("audit log: %w", err)
	}
	if st.Size() != l.end {
		// Another writer appended since (or the file was replaced): chain
		// to what is there now.
		if err := l.resync(); err != nil && !errors.Is(err, os.ErrNotExist) {
			return r, fmt.Errorf("read audit log: %w", err)
		}
		if l.end != st.Size() {
			return r, fmt.Errorf("audit log %s does not end with a whole record: run palisade audit verify", l.path)
		}
	}
	r, line, err := seal(r, l.seq+1, l.last)
	if err != nil {
		return r, err
	}
	if err := writeSynced(f, append(line, '\n'), st.Size()); err != nil {
		return r, err
	}
	l.seq, l.last, l.end = r.Seq, r.Hash, st.Size()+int64(len(line))+1
	return r, nil
}

// writeSynced writes b at the end of f and syncs it; on failure it cuts
// the file back to size, so what was half written is not left behind.
func writeSynced(f *os.File, b []byte, size int64) error {
	_, err := f.Write(b)
	if err != nil {
		err = fmt.Errorf("write audit log: %w", err)
	} else if err = f.Sync(); err != nil {
		err = fmt.Errorf("sync audit log: %w", err)
	}
	if err != nil {
		if terr := f.Truncate(size); terr != nil {
			err = fmt.Errorf("%w (and cutting the partial record off failed: %v)", err, terr)
		}
	}
	return err
}

// seal makes r record seq of the chain, following the record hashed prev,
// and encodes it as its line (without the newline).
func seal(r Record, seq uint64, prev string) (Record, []byte, error) {
	r.Seq, r.Prev, r.Hash = seq, prev, ""
	// JSON writes invalid UTF-8 as \ufffd escapes and reads them back as
	// the character itself, which encodes differently: hash what is read.
	for _, s := range []*string{&r.User, &r.Action, &r.Subject, &r.Digest, &r.StateDigest, &r.Result} {
		*s = strings.ToValidUTF8(*s, "\uFFFD")
	}
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	h, err := hashOf(r)
	if err != nil {
		return r, nil, err
	}
	r.Hash = h
	line, err := json.Marshal(r)
	return r, line, err
}

// Detail marshals v for Record.Detail.
func Detail(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

func hashOf(r Record) (string, error) {
	r.Hash = ""
	b, err := json.Marshal(r)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Read returns every record of the log, in order.
func Read(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Record
	err = eachRecord(f, path, func(_ []byte, r Record) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// eachRecord calls fn with each line of the log and the record it holds.
// Lines end at '\n' only: a '\r' before it is part of the line, not
// silently dropped, so it counts as an edit.
func eachRecord(rd io.Reader, name string, fn func(line []byte, r Record) error) error {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	sc.Split(splitLines)
	for line := 1; sc.Scan(); line++ {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return fmt.Errorf("%s:%d: not an audit record: %w", name, line, err)
		}
		if err := fn(sc.Bytes(), r); err != nil {
			return err
		}
	}
	return sc.Err()
}

func splitLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// Verify recomputes the chain and returns the number of records, or an
// error naming the first record that was edited, moved or follows a gap.
func Verify(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return verify(f, path)
}

// verify checks each line is exactly what Append wrote: the hash covers
// the record as decoded, and JSON decoding forgives what a reader of the
// file would not (unknown and repeated keys, case-folded names, spacing),
// so the line must also be the record's own encoding.
func verify(rd io.Reader, name string) (int, error) {
	i, prev := 0, ""
	err := eachRecord(rd, name, func(line []byte, r Record) error {
		h, err := hashOf(r)
		switch {
		case err != nil:
			return err
		case r.Seq != uint64(i+1):
			return fmt.Errorf("%s:%d: record seq %d, expected %d: a record was removed or moved", name, i+1, r.Seq, i+1)
		case r.Prev != prev:
			return fmt.Errorf("%s:%d: record %d does not follow the one before it: a record was removed or moved", name, i+1, r.Seq)
		case h != r.Hash:
			return fmt.Errorf("%s:%d: record %d was edited: its hash does not match its contents", name, i+1, r.Seq)
		}
		if b, err := json.Marshal(r); err != nil || !bytes.Equal(b, line) {
			return fmt.Errorf("%s:%d: record %d was edited: the line is not as it was written", name, i+1, r.Seq)
		}
		i, prev = i+1, r.Hash
		return nil
	})
	return i, err
}
