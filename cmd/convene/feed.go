package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
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
	if fi, err := os.Stat(*config); err == nil && os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		// A short job whose heap only grows until it exits: the
		// collector runs only when the heap reaches a limit in
		// proportion to the file, not each time it doubles from
		// small. At 10,000 sessions (3 MB) that is 112 MiB: a fifth
		// less CPU time than GOGC=200 for a peak of 122 MB instead of
		// 87 (README, Benchmarks). Both are put back when done, for a
		// caller in the same process (tests).
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(feedMemoryLimit(fi.Size())))
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
	if *out == "" {
		all, err := feed.RenderAll(ctx, s, st, time.Now())
		if err != nil {
			return err
		}
		// The document is written part by part, two for each event:
		// one write a part would be a system call each.
		w := bufio.NewWriterSize(stdout, 64<<10)
		if _, err := all.WriteTo(w); err != nil {
			return err
		}
		return w.Flush()
	}
	set, err := feed.Render(ctx, s, st, time.Now())
	if err != nil {
		return err
	}
	docs := set.Docs()
	if err := writeFeeds(*out, docs); err != nil {
		return err
	}
	name := filepath.Join(*out, filepath.FromSlash(podcast.Path))
	body := podcast.Render(s, s.Calendar.URL)
	if err := os.WriteFile(name, body, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(name+".gz", feed.Gzip(body), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %d feeds and %s to %s\n", len(docs), podcast.Path[1:], *out)
	return nil
}

// feedMemoryLimit is the memory at which convene feed collects garbage,
// for an events.toml of size bytes: at 10,000 sessions (3 MB) about
// four times what stays live, at 100,000 (30 MB, 544 MiB) two to three
// times (five collections).
func feedMemoryLimit(size int64) int64 { return 64<<20 + 16*size }

// writeFeeds writes each document under dir, by its URL path, and beside
// it its gzip form, for static hosts that serve name.gz to clients that
// accept gzip (nginx gzip_static, Caddy precompressed). Compressing ten
// thousand files is most of the work: it runs on every core.
func writeFeeds(dir string, docs map[string]feed.Doc) error {
	type job struct {
		name string
		doc  feed.Doc
	}
	jobs := make(chan job)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) + 1 { // one more, to use a core while another waits on the disk
		wg.Go(func() {
			for j := range jobs {
				if err := writeFeed(j.name, j.doc); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	made := map[string]bool{}
	var err error
	for path, d := range docs {
		name := filepath.Join(dir, filepath.FromSlash(path))
		if d := filepath.Dir(name); !made[d] {
			if err = os.MkdirAll(d, 0o755); err != nil {
				break
			}
			made[d] = true
		}
		jobs <- job{name, d}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return err
	}
	select {
	case err = <-errs:
	default:
	}
	return err
}

// writeFeed writes d to name and its gzip form to name.gz, with their
// times set to the document's Last-Modified.
func writeFeed(name string, d feed.Doc) error {
	for name, body := range map[string][]byte{name: d.Bytes(), name + ".gz": d.Gzip()} {
		if err := os.WriteFile(name, body, 0o644); err != nil {
			return err
		}
		if err := os.Chtimes(name, d.Modified, d.Modified); err != nil {
			return err
		}
	}
	return nil
}
