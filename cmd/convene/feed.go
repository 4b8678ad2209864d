package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/podcast"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

func feedCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("feed", stderr)
	config := fs.String("config", "events.toml", "the schedule file")
	state := fs.String("state", "convene.db", "the state: a SQLite file, or a postgres:// URL")
	out := fs.String("out", "", "write every feed (all, each series, each session, and the podcast feed recordings.xml) into this directory instead of the full feed to stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	s, err := schedule.Load(*config)
	if err != nil {
		return err
	}
	st, err := store.Open(*state)
	if err != nil {
		return err
	}
	defer st.Close()
	set, err := feed.Render(ctx, s, st, time.Now())
	if err != nil {
		return err
	}
	if *out == "" {
		_, err := stdout.Write(set.All.Body)
		return err
	}
	for path, d := range set.Docs() {
		name := filepath.Join(*out, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		// Beside each feed, its gzip form, for static hosts that serve
		// name.gz to clients that accept gzip (nginx gzip_static,
		// Caddy precompressed).
		for name, body := range map[string][]byte{name: d.Body, name + ".gz": feed.Gzip(d.Body)} {
			if err := os.WriteFile(name, body, 0o644); err != nil {
				return err
			}
			if err := os.Chtimes(name, d.Modified, d.Modified); err != nil {
				return err
			}
		}
	}
	name := filepath.Join(*out, filepath.FromSlash(podcast.Path))
	body := podcast.Render(s, s.Calendar.URL)
	if err := os.WriteFile(name, body, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(name+".gz", feed.Gzip(body), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %d feeds and %s to %s\n", len(set.Docs()), podcast.Path[1:], *out)
	return nil
}
