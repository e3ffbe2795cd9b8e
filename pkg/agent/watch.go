package agent

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// rulesSettle is how long the rules directory must be quiet before it is
// applied: a git checkout writes many files, and a half-written set must
// not be applied (it would most likely be refused, and logged as such).
const rulesSettle = 500 * time.Millisecond

// watchRules applies the configured rules directory when a file in it
// changes, once changes have settled.
func (a *Agent) watchRules(ctx context.Context) (stop func()) {
	if !*a.cfg.WatchRules {
		return func() {}
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		a.log.Error("watch rules directory", "dir", a.cfg.Rules, "err", err)
		return func() {}
	}
	if err := addDirs(w, a.cfg.Rules); err != nil {
		a.log.Error("watch rules directory", "dir", a.cfg.Rules, "err", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.watchLoop(ctx, w)
	}()
	a.log.Info("watching rules directory", "dir", a.cfg.Rules)
	return func() { cancel(); w.Close(); <-done }
}

func (a *Agent) watchLoop(ctx context.Context, w *fsnotify.Watcher) {
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) {
				_ = addDirs(w, ev.Name) // a new subdirectory: watch it too
			}
			settle.Reset(rulesSettle)
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			a.log.Error("watch rules directory", "err", err)
		case <-settle.C:
			a.log.Info("rules directory changed; applying", "dir", a.cfg.Rules)
			if err := a.Reload(); err != nil {
				a.log.Error("changed rules refused; the running policy stays", "err", err)
			}
		}
	}
}

// addDirs watches root and every directory under it, skipping hidden ones
// (.git changes on every fetch and is not policy).
func addDirs(w *fsnotify.Watcher, root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if path != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		return w.Add(path)
	})
}
