package reload

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWatch: every way a deploy changes the file is picked up, and bytes
// that did not change are not loaded again. The config path is reached
// through a ConfigMap-style layout (events.toml -> ..data/events.toml,
// ..data -> ..v1) inside a directory reached through a symlink
// (etc -> releases/1), and each kind of swap is tried in turn.
func TestWatch(t *testing.T) {
	root := t.TempDir()
	mkdir := func(p string) {
		if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, text string) {
		if err := os.WriteFile(filepath.Join(root, p), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// swapLink points link at target as deploy tools do: a new link
	// renamed over the old.
	swapLink := func(link, target string) {
		tmp := filepath.Join(root, link+".tmp")
		if err := os.Symlink(target, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	mkdir("releases/1/..v1")
	write("releases/1/..v1/events.toml", scheduleText("Version one", 19))
	if err := os.Symlink("..v1", filepath.Join(root, "releases/1/..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/events.toml", filepath.Join(root, "releases/1/events.toml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("releases/1", filepath.Join(root, "etc")); err != nil {
		t.Fatal(err)
	}

	r := newRig(t)
	r.p.cfg.Path = filepath.Join(root, "etc", "events.toml")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.p.Run(ctx, nil); close(done) }()
	defer func() { cancel(); <-done }()

	serves := func(what, title string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, body := r.get("/calendar.ics"); strings.Contains(body, "SUMMARY:"+title+"\r\n") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %q is not served", what, title)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	serves("start", "Version one")

	// A ConfigMap update: a new timestamped directory, ..data swapped.
	mkdir("releases/1/..v2")
	write("releases/1/..v2/events.toml", scheduleText("ConfigMap update", 19))
	swapLink("releases/1/..data", "..v2")
	os.RemoveAll(filepath.Join(root, "releases/1/..v1"))
	serves("..data swap", "ConfigMap update")

	// An edit in place of the file the links lead to.
	write("releases/1/..v2/events.toml", scheduleText("Edited in place", 19))
	serves("edit in place", "Edited in place")

	// A release: the directory symlink etc -> releases/2.
	mkdir("releases/2")
	write("releases/2/events.toml", scheduleText("Release two", 19))
	swapLink("etc", "releases/2")
	serves("directory symlink swap", "Release two")

	// A new file renamed over the old.
	write("releases/2/events.toml.new", scheduleText("Renamed over", 19))
	if err := os.Rename(filepath.Join(root, "releases/2/events.toml.new"), filepath.Join(root, "releases/2/events.toml")); err != nil {
		t.Fatal(err)
	}
	serves("rename over", "Renamed over")

	// Deleted, then written again.
	if err := os.Remove(filepath.Join(root, "releases/2/events.toml")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	write("releases/2/events.toml", scheduleText("Back again", 19))
	serves("delete and recreate", "Back again")

	// The same bytes written again: nothing is loaded.
	loads := r.ok.Load() + r.failed.Load()
	write("releases/2/events.toml", scheduleText("Back again", 19))
	swapLink("etc", "releases/2")
	time.Sleep(300 * time.Millisecond)
	if n := r.ok.Load() + r.failed.Load(); n != loads {
		t.Errorf("identical bytes were loaded again (%d reloads)", n-loads)
	}
	if n := r.failed.Load(); n != 0 {
		t.Errorf("%d reloads failed", n)
	}
}
