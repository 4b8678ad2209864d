package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/convene/convene/feed"
	"github.com/convene/convene/schedule"
	"github.com/convene/convene/store"
)

// BenchmarkReload measures what `convene serve` does on every edit of
// events.toml: load, validate and resolve the schedule, then expand and
// render every feed (all, each series, each session) with their versions
// from the state file, as serve's first render does (feed.Update, which
// also compresses the events' text). "warm" is a reload of an unchanged
// schedule (the versions exist); "cold" is the first load into an empty
// state file.
func BenchmarkReload(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		dir := b.TempDir()
		config := writeSchedule(b, dir, n, "Benchmark group")
		b.Run(fmt.Sprintf("sessions=%d/warm", n), func(b *testing.B) {
			st, err := store.Open(filepath.Join(dir, "warm.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var set *feed.Set
			reload := func() {
				s, err := schedule.Load(config)
				if err != nil {
					b.Fatal(err)
				}
				if set, err = feed.Update(context.Background(), nil, s, st, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
			reload()
			c := cpuTime(b)
			for b.Loop() {
				reload()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/reload")
			b.ReportMetric(float64((cpuTime(b)-c).Microseconds())/1000/float64(b.N), "cpu-ms/reload")
			b.ReportMetric(float64(set.All.Len())/(1<<20), "MB-feed")
			b.ReportMetric(float64(len(set.Docs())), "docs")
		})
		b.Run(fmt.Sprintf("sessions=%d/cold", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				b.StopTimer()
				i++
				st, err := store.Open(filepath.Join(dir, fmt.Sprintf("cold%d.db", i)))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				s, err := schedule.Load(config)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := feed.Update(context.Background(), nil, s, st, time.Now()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				st.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkLoadSchedule isolates schedule.Load (decode, validate, resolve)
// from rendering.
func BenchmarkLoadSchedule(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		config := writeSchedule(b, b.TempDir(), n, "Benchmark group")
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := schedule.Load(config); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
