package lab

import (
	"fmt"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs fn on an OS thread switched into the namespace. Sockets created
// by fn stay in the namespace after Do returns. fn runs on a fresh
// goroutine so that, if the thread cannot be switched back, it is never
// unlocked and the runtime discards it when that goroutine ends. A panic in
// fn is carried back and re-raised in the caller.
func (n *NS) Do(fn func() error) error {
	type result struct {
		err   error
		panic any
		ok    bool
	}
	done := make(chan result, 1)
	go func() {
		r := result{}
		defer func() {
			if !r.ok {
				r.panic = recover()
			}
			done <- r
		}()
		r.err = n.do(fn)
		r.ok = true
	}()
	r := <-done
	if !r.ok {
		panic(r.panic)
	}
	return r.err
}

func (n *NS) do(fn func() error) error {
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open current netns: %w", err)
	}
	defer unix.Close(orig)
	target, err := unix.Open(filepath.Join(netnsDir, n.Name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open netns %s: %w", n.Name, err)
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter netns %s: %w", n.Name, err)
	}
	// Deferred so the thread is restored even when fn panics.
	defer func() {
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return fn()
}
