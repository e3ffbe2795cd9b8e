package rules

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// What Load reads at most. The rules directory is written through git by
// people the boundary does not trust blindly, and the agent and validate
// both read it: a file that never ends (a link to /dev/zero, a FIFO, a
// file being appended to) must cost a bounded read and a clear refusal,
// not a hung agent or an exhausted one. A PSN's worth of organisations
// takes a few MiB in all.
const (
	maxFileBytes   = 4 << 20  // one policy file
	maxPolicyBytes = 64 << 20 // every policy file of one directory together
)

type readBounds struct{ file, total int64 }

// policyFile is one policy file as read, named by its path under the
// directory Load was given.
type policyFile struct {
	path string
	data []byte
}

// fileReader walks a rules directory through open directory descriptors:
// each entry is opened relative to its parent's descriptor with
// O_NOFOLLOW, so no path is looked up twice and nothing swapped in
// between listing and opening is followed out of the directory.
//
// Symbolic links are refused rather than resolved and confined: a rules
// directory is a git checkout, and git carries links, so a reviewed
// change could add "x.yaml -> /somewhere" whose review shows the link but
// not what it points at. What is enforced must be what was reviewed, so
// only regular files in the directory itself are policy.
type fileReader struct {
	bounds readBounds
	read   int64 // bytes read so far, against bounds.total
	full   bool  // bounds.total reached: read no further
	files  []policyFile
	f      findings
}

// readPolicyFiles returns the *.yaml and *.yml files under dir, sorted by
// path, skipping hidden files and directories (a .git checkout). Files
// that are not regular, are links or are too large are refused, all of
// them in one ErrorList at file:1:1; a directory that cannot be listed or
// a file that cannot be read is an ordinary wrapped error.
func readPolicyFiles(dir string, b readBounds) ([]policyFile, error) {
	// The directory itself may be a link: the operator named it in the
	// config or on the command line. O_DIRECTORY keeps a FIFO given as
	// the directory from blocking the open.
	root, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open rules directory: %w", err)
	}
	defer root.Close()
	r := &fileReader{bounds: b}
	if err := r.walk(root, filepath.Clean(dir)); err != nil {
		return nil, err
	}
	if len(r.f.errs) > 0 {
		return nil, ErrorList(sorted(r.f.errs))
	}
	if len(r.files) == 0 {
		return nil, fmt.Errorf("no policy files (*.yaml, *.yml) in %s", dir)
	}
	slices.SortFunc(r.files, func(a, b policyFile) int { return strings.Compare(a.path, b.path) })
	return r.files, nil
}

func isPolicyName(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

func (r *fileReader) refuse(path, format string, args ...any) {
	r.f.errorf(Pos{File: path, Line: 1, Col: 1}, format, args...)
}

// walk reads the policy files in the open directory dir, named path, and
// the directories under it.
func (r *fileReader) walk(dir *os.File, path string) error {
	entries, err := dir.ReadDir(-1)
	if err != nil {
		return fmt.Errorf("list policy files in %s: %w", path, err)
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for _, e := range entries {
		if r.full {
			return nil
		}
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(path, name)
		switch t := e.Type(); {
		case t&fs.ModeSymlink != 0:
			r.link(p, isPolicyName(name))
		case t.IsDir() || (t.IsRegular() && isPolicyName(name)):
			if err := r.entry(dir, p, name); err != nil {
				return err
			}
		case isPolicyName(name):
			// Not opened at all: opening a device can do things.
			r.refuse(p, "is %s, not a regular file; a policy file must be a plain file", fileKind(t))
		}
	}
	return nil
}

// link refuses a symbolic link that is, or leads to, policy: one named as
// a policy file, or one to a directory, whose files would otherwise be
// silently left out. Only stat and readlink touch the target.
func (r *fileReader) link(p string, policyName bool) {
	target, _ := os.Readlink(p)
	switch fi, err := os.Stat(p); {
	case policyName:
		r.refuse(p, "is a symbolic link (to %s); policy files must be regular files inside the rules directory, so that what is enforced is what was reviewed", target)
	case err == nil && fi.IsDir():
		r.refuse(p, "is a symbolic link to a directory (%s); policy files are read only inside the rules directory, so that what is enforced is what was reviewed", target)
	}
}

// entry opens one directory or policy file relative to its parent. The
// listing's type is checked again on the open descriptor: the entry may
// have been replaced since. O_NOFOLLOW refuses a link swapped in;
// O_NONBLOCK keeps a FIFO swapped in from blocking the open, and fstat
// then refuses it before any read.
func (r *fileReader) entry(dir *os.File, p, name string) error {
	fd, err := openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC)
	switch {
	case errors.Is(err, unix.ELOOP):
		r.link(p, true)
		return nil
	case errors.Is(err, unix.ENXIO): // a socket: open(2) cannot open one
		r.refuse(p, "is not a regular file; a policy file must be a plain file")
		return nil
	case err != nil:
		return fmt.Errorf("open policy file %s: %w", p, err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat policy file %s: %w", p, err)
	}
	switch {
	case fi.IsDir() && isPolicyName(name):
		r.refuse(p, "is a directory; a policy file must be a plain file")
	case fi.IsDir():
		return r.walk(f, p)
	case !fi.Mode().IsRegular():
		r.refuse(p, "is %s, not a regular file; a policy file must be a plain file", fileKind(fi.Mode().Type()))
	default:
		return r.readFile(f, p, fi.Size())
	}
	return nil
}

// readFile reads an open regular file through a limit, so that a file
// that grows after fstat is bounded all the same.
func (r *fileReader) readFile(f *os.File, p string, size int64) error {
	limit := min(r.bounds.file, r.bounds.total-r.read)
	var data []byte
	if size <= limit {
		var err error
		if data, err = io.ReadAll(io.LimitReader(f, limit+1)); err != nil {
			return fmt.Errorf("read policy file %s: %w", p, err)
		}
	}
	switch {
	case size <= limit && int64(len(data)) <= limit:
		r.read += int64(len(data))
		r.files = append(r.files, policyFile{path: p, data: data})
	case limit == r.bounds.file:
		r.refuse(p, "is larger than %s, the most a policy file may hold", byteSize(r.bounds.file))
	default:
		r.full = true
		r.refuse(p, "takes the policy files past %s in all, the most one rules directory may hold; not read further", byteSize(r.bounds.total))
	}
	return nil
}

func openat(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// fileKind names a non-regular file type for an error message.
func fileKind(t fs.FileMode) string {
	switch {
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a block device"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t.IsDir():
		return "a directory"
	}
	return "a special file"
}

// byteSize writes n as whole MiB when it is, else in bytes (tests lower
// the bounds).
func byteSize(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
