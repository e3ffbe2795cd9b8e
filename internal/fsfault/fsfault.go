// Package fsfault gives tests a directory that fails the way a gateway's
// disk can: full, or read-only. It mounts a small tmpfs of the test's own
// (root only) and removes it when the test ends.
package fsfault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Dir is a tmpfs mounted for one test.
type Dir struct {
	Path string
	t    testing.TB
}

// Mount mounts a tmpfs of size bytes on a new directory; the test is
// skipped when not root. It is unmounted when the test ends.
func Mount(t testing.TB, size int) *Dir {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return &Dir{Path: dir, t: t}
}

// Fill writes a filler file until the file system is full: the next write
// of anything fails with ENOSPC.
func (d *Dir) Fill() {
	d.t.Helper()
	f, err := os.Create(filepath.Join(d.Path, "filler"))
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for range 1 << 20 { // bounded: a tmpfs of up to 4 GiB
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				d.t.Fatalf("fill %s: %v", d.Path, err)
			}
			// Bytes smaller than a page may still fit: take them too.
			for one := buf[:1]; err == nil; _, err = f.Write(one) {
			}
			return
		}
	}
	d.t.Fatalf("fill %s: never full", d.Path)
}

// Free removes the filler.
func (d *Dir) Free() {
	d.t.Helper()
	if err := os.Remove(filepath.Join(d.Path, "filler")); err != nil {
		d.t.Fatal(err)
	}
}

// ReadOnly remounts the file system read-only (even root cannot write);
// Writable undoes it.
func (d *Dir) ReadOnly() { d.remount(syscall.MS_RDONLY) }

// Writable remounts the file system read-write.
func (d *Dir) Writable() { d.remount(0) }

func (d *Dir) remount(flags uintptr) {
	d.t.Helper()
	if err := syscall.Mount("tmpfs", d.Path, "tmpfs", syscall.MS_REMOUNT|flags, ""); err != nil {
		d.t.Fatalf("remount %s: %v", d.Path, err)
	}
}
