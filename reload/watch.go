package reload

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/convene/convene/schedule"
)

// Settling times after a change is seen, before the file is read: a
// rename or a symlink swap is complete at once; a file written in place
// comes in several writes.
const (
	settleSwap  = 10 * time.Millisecond
	settleWrite = 50 * time.Millisecond
)

// Run loads the schedule (Start), then reloads it whenever hup receives (SIGHUP: always, so that the
// reminders are planned again) and whenever the bytes that the config
// path reads change, until ctx ends. It sees edits in place, a new file
// renamed over the old, a file deleted and written again, and a symlink
// swapped anywhere on the way to the file, such as a Kubernetes
// ConfigMap's ..data or a current -> releases/N directory. Identical
// bytes are ignored.
//
// The watch begins before the first load, so that no edit made while
// the daemon starts is missed.
func (p *Pipeline) Run(ctx context.Context, hup <-chan os.Signal) {
	log := p.cfg.Log
	var events <-chan fsnotify.Event
	var errs <-chan error
	w, err := fsnotify.NewWatcher()
	if err != nil {
		log.Warn("cannot watch the schedule; reload with SIGHUP", "err", err)
	} else {
		defer w.Close()
		events, errs = w.Events, w.Errors
	}
	watched := map[string]bool{}
	rewatch := func() {
		if w == nil {
			return
		}
		want := watchDirs(p.cfg.Path)
		for dir := range watched {
			if !want[dir] {
				w.Remove(dir)
				delete(watched, dir)
			}
		}
		for dir := range want {
			if watched[dir] {
				continue
			}
			if err := w.Add(dir); err != nil {
				log.Warn("cannot watch a directory of the schedule; reload with SIGHUP", "dir", dir, "err", err)
				continue
			}
			watched[dir] = true
		}
	}
	rewatch()

	if err := p.Start(ctx); err != nil {
		log.Error("the schedule did not load", "config", p.cfg.Path, "err", err)
	}
	seen := p.seen()
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			log.Info("SIGHUP: reloading", "config", p.cfg.Path)
			if err := p.Reload(ctx); err != nil {
				log.Error("reload failed; still serving the last good schedule", "config", p.cfg.Path, "err", err)
			}
			seen = p.seen()
		case ev := <-events:
			if ev.Has(fsnotify.Chmod) && !ev.Has(fsnotify.Write|fsnotify.Create|fsnotify.Remove|fsnotify.Rename) {
				continue
			}
			wait := settleSwap
			if ev.Has(fsnotify.Write) {
				wait = settleWrite
			}
			settle.Reset(wait)
		case err := <-errs:
			log.Warn("watching the schedule", "err", err)
		case <-settle.C:
			rewatch() // a swapped symlink leads to other directories
			// Read in pieces, hashed and compared with the schedule
			// served, not kept.
			t, err := schedule.OpenText(p.cfg.Path, scheduleOf(p.Current()))
			if err != nil || t.Size() == 0 {
				// Deleted, a swap half done, truncated or still
				// written in place: the next event brings it back.
				log.Debug("the schedule cannot be read; waiting", "config", p.cfg.Path, "err", err)
				if t != nil {
					t.Close()
				}
				continue
			}
			sum := Fingerprint(t.Sum())
			if sum == seen {
				t.Close()
				continue
			}
			if err := p.reloadText(ctx, t); err != nil {
				log.Error("reload failed; still serving the last good schedule", "config", p.cfg.Path, "err", err)
			}
			// What was loaded or tried: newer bytes than sum when
			// the file changed while it was read, and read again.
			seen = p.seen()
		}
	}
}

// seen returns the fingerprint of the text last loaded or tried.
func (p *Pipeline) seen() Fingerprint {
	if t := p.tried.Load(); t != nil {
		return *t
	}
	return 0
}

// watchDirs returns the directories whose entries decide what path
// reads: the directory of path, the directory holding each symlink met
// on the way to the file, and the directory that really holds it.
func watchDirs(path string) map[string]bool {
	dirs := map[string]bool{}
	var follow func(path string, depth int)
	follow = func(path string, depth int) {
		abs, err := filepath.Abs(path)
		if err != nil || depth > 40 {
			return
		}
		dirs[filepath.Dir(abs)] = true
		// Each prefix of the path that is a symlink: its directory
		// sees the swap, and its target is followed.
		prefix := string(filepath.Separator)
		for _, part := range splitPath(abs) {
			prefix = filepath.Join(prefix, part)
			fi, err := os.Lstat(prefix)
			if err != nil {
				return
			}
			if fi.Mode()&os.ModeSymlink == 0 {
				continue
			}
			dirs[filepath.Dir(prefix)] = true
			target, err := os.Readlink(prefix)
			if err != nil {
				return
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(prefix), target)
			}
			rest, _ := filepath.Rel(prefix, abs)
			follow(filepath.Join(target, rest), depth+1)
			return
		}
	}
	follow(path, 0)
	return dirs
}

func splitPath(abs string) []string {
	var parts []string
	for abs != filepath.Dir(abs) {
		parts = append([]string{filepath.Base(abs)}, parts...)
		abs = filepath.Dir(abs)
	}
	return parts
}
