package flows

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// File is the flow log on disk: JSON lines appended to path; when it would
// grow past maxBytes it becomes path.1 (path.1 becomes path.2, and so on)
// and only keep old files are kept, so the log cannot fill the disk.
type File struct {
	mu       sync.Mutex
	path     string
	maxBytes int64
	keep     int
	f        *os.File
	size     int64
	written  uint64
	rotated  uint64
}

// OpenFile opens (or creates) the flow log for appending.
func OpenFile(path string, maxBytes int64, keep int) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("flow log directory: %w", err)
	}
	fl := &File{path: path, maxBytes: maxBytes, keep: max(keep, 1)}
	return fl, fl.open()
}

func (fl *File) open() error {
	f, err := os.OpenFile(fl.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open flow log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat flow log: %w", err)
	}
	n, err := endTornLine(f, st.Size())
	if err != nil {
		f.Close()
		return fmt.Errorf("flow log: %w", err)
	}
	fl.f, fl.size = f, st.Size()+n
	return nil
}

// endTornLine ends a last line left without its newline (by a crash),
// which would otherwise swallow the first record written after it.
func endTornLine(f *os.File, size int64) (int64, error) {
	last := []byte{'\n'}
	if size > 0 {
		if _, err := f.ReadAt(last, size-1); err != nil {
			return 0, err
		}
	}
	if last[0] == '\n' {
		return 0, nil
	}
	n, err := f.Write([]byte{'\n'})
	return int64(n), err
}

// Write appends one record as a line.
func (fl *File) Write(r *Record) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.size > 0 && fl.size+int64(len(line)) > fl.maxBytes {
		if err := fl.rotate(); err != nil {
			return err
		}
	}
	n, err := fl.f.Write(line)
	fl.size += int64(n)
	if err != nil {
		return fmt.Errorf("write flow log: %w", err)
	}
	fl.written++
	return nil
}

func (fl *File) rotate() error {
	fl.f.Close()
	os.Remove(fl.path + "." + strconv.Itoa(fl.keep))
	for i := fl.keep - 1; i >= 1; i-- {
		os.Rename(fl.path+"."+strconv.Itoa(i), fl.path+"."+strconv.Itoa(i+1))
	}
	if err := os.Rename(fl.path, fl.path+".1"); err != nil {
		return fmt.Errorf("rotate flow log: %w", err)
	}
	fl.rotated++
	return fl.open()
}

// Stats are the lines written and rotations done by this process.
func (fl *File) Stats() (written, rotated uint64) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.written, fl.rotated
}

// Close closes the current file.
func (fl *File) Close() error {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.f.Close()
}

// Filter selects records for responders; empty fields match everything.
type Filter struct {
	Org     string `json:"org,omitempty"`
	Verdict string `json:"verdict,omitempty"`
}

// Match says whether r passes the filter. "deny" is the CLI's word for drop.
func (f Filter) Match(r *Record) bool {
	v := f.Verdict
	if v == "deny" {
		v = "drop"
	}
	return (f.Org == "" || r.Org == f.Org) && (v == "" || r.Verdict == v)
}

// Read returns the last limit records matching f, oldest first, from the
// rotated files and the current one.
func Read(path string, keep int, f Filter, limit int) ([]Record, error) {
	var out []Record
	for i := keep; i >= 0; i-- {
		p := path
		if i > 0 {
			p += "." + strconv.Itoa(i)
		}
		if err := readOne(p, f, &out); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

func readOne(path string, f Filter, out *[]Record) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) == nil && f.Match(&r) {
			*out = append(*out, r)
		}
	}
	return sc.Err()
}
