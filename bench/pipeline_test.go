package bench

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/mailer"
	"github.com/convene/convene/reload"
	"github.com/convene/convene/store"
	"github.com/convene/convene/web"
)

// BenchmarkPipeline measures serve's reload pipeline (read, load,
// render, page, reminders, swap) in process, as the watcher runs it:
// "edit" changes one session's title, "unchanged" reloads the same
// bytes (a SIGHUP: reminders planned again, nothing rendered).
//
// CONVENE_BENCH_SESSIONS=3000,30000 sets the sizes;
// CONVENE_BENCH_CPUPROFILE=FILE writes a CPU profile of the edits alone
// (the first load, which -cpuprofile also records, left out), and
// CONVENE_BENCH_CPUPROFILE_UNCHANGED=FILE one of the unchanged reloads.
func BenchmarkPipeline(b *testing.B) {
	sizes := []int{10000, 100000}
	if v := os.Getenv("CONVENE_BENCH_SESSIONS"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				b.Fatalf("CONVENE_BENCH_SESSIONS: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		dir := b.TempDir()
		config := writeSchedule(b, dir, n, "Pipeline")
		p := newPipeline(b, dir, config)
		if err := p.Reload(context.Background()); err != nil {
			b.Fatal(err)
		}
		text, err := os.ReadFile(config)
		if err != nil {
			b.Fatal(err)
		}
		const title = `title = "Session 7"`
		at := bytes.Index(text, []byte(title))
		if at < 0 {
			b.Fatal("no session 7")
		}
		var edited []byte
		b.Run(fmt.Sprintf("sessions=%d/edit", n), func(b *testing.B) {
			i := 0
			var cpu time.Duration
			profile(b, os.Getenv("CONVENE_BENCH_CPUPROFILE"))
			for b.Loop() {
				b.StopTimer()
				i++
				// Into one buffer, so that the benchmark's own garbage
				// (the file's size, twice per edit) does not drive the
				// collector that the reload is measured with.
				edited = fmt.Appendf(append(edited[:0], text[:at]...), `title = "Session 7, edit %d"`, i)
				edited = append(edited, text[at+len(title):]...)
				writeAtomic(b, config, edited)
				etag := p.Current().Feeds.All.ETag
				b.StartTimer()
				c := cpuTime(b)
				if err := p.Reload(context.Background()); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime(b) - c
				if p.Current().Feeds.All.ETag == etag {
					b.Fatal("the edit did not change the feed")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/reload")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/reload")
		})
		b.Run(fmt.Sprintf("sessions=%d/unchanged", n), func(b *testing.B) {
			profile(b, os.Getenv("CONVENE_BENCH_CPUPROFILE_UNCHANGED"))
			c := cpuTime(b)
			for b.Loop() {
				if err := p.Reload(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/reload")
			b.ReportMetric(float64((cpuTime(b)-c).Microseconds())/1000/float64(b.N), "cpu-ms/reload")
		})
	}
}

// profile writes a CPU profile to file, if set, until b ends.
func profile(b *testing.B, file string) {
	if file == "" {
		return
	}
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		pprof.StopCPUProfile()
		f.Close()
	})
}

// newPipeline returns serve's pipeline for config, with its page and
// reminder worker, its state file in dir.
func newPipeline(b *testing.B, dir, config string) *reload.Pipeline {
	b.Helper()
	st, err := store.OpenExclusive(filepath.Join(dir, "state.db")) // as serve does
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("CONVENE_BENCH_LOG") != "" { // each reload's steps and their times
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	w, err := mailer.New(mailer.Options{Store: st, Transport: mailer.Dir{Path: filepath.Join(dir, "outbox")}, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	page, err := web.New(web.Config{Store: st, Secret: bytes.Repeat([]byte("s"), 32), Log: log})
	if err != nil {
		b.Fatal(err)
	}
	p, err := reload.New(reload.Config{Path: config, Store: st, Feeds: &feed.Handler{}, Page: reload.WebPage(page), Mailer: w, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	return p
}
