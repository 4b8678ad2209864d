package bench

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/convene/convene/store"
)

// BenchmarkEditToServed measures, on a running `convene serve`, the time
// from an edit of events.toml (a new file renamed over it, as editors
// save) to the first response carrying the new feed. It includes the
// watcher's 50 ms wait for the editor to finish writing.
//
// "title" edits one session's title; "calendar" edits the calendar's
// name, which is in every document (the edit these figures measured
// before the reload became incremental).
func BenchmarkEditToServed(b *testing.B) {
	for _, n := range []int{100, 10000} {
		for _, edit := range []struct{ name, old, new string }{
			{"title", `title = "Session 7%s"`, `title = "Session 7%s"`},
			{"calendar", `name = "Edit%s"`, `name = "Edit%s"`},
		} {
			b.Run(fmt.Sprintf("sessions=%d/%s", n, edit.name), func(b *testing.B) {
				editToServed(b, n, edit.old, edit.new)
			})
		}
	}
}

// editToServed edits the schedule five times, replacing old by new with
// the number of the edit (%s), and reports how soon each is served.
func editToServed(b *testing.B, n int, old, new string) {
	dir := b.TempDir()
	config := writeSchedule(b, dir, n, "Edit")
	d := startServe(b, config, filepath.Join(dir, "state.db"))
	etag := head(b, d.base+"/calendar.ics")
	var lat []float64
	for i := 1; i <= 5; i++ {
		data, err := os.ReadFile(config)
		if err != nil {
			b.Fatal(err)
		}
		prevMark := ""
		if i > 1 {
			prevMark = fmt.Sprintf(" %d", i-1)
		}
		data = []byte(replaceOnce(string(data), fmt.Sprintf(old, prevMark), fmt.Sprintf(new, fmt.Sprintf(" %d", i))))
		start := time.Now()
		writeAtomic(b, config, data)
		for {
			if e := head(b, d.base+"/calendar.ics"); e != etag {
				etag = e
				break
			}
			if time.Since(start) > time.Minute {
				b.Fatal("the edit was not served within a minute")
			}
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, float64(time.Since(start).Microseconds())/1000)
	}
	sort.Float64s(lat)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(median(lat), "ms-median")
	b.ReportMetric(lat[len(lat)-1], "ms-max")
}

// BenchmarkMemory reports the resident memory of `convene serve` with a
// schedule of 10,000 sessions and 10,000 subscribers in the state file,
// after it has served every session's feed once and the full feed 200
// times: as shipped (no GOGC or GOMEMLIMIT: serve's own memory limit),
// with Go's default behaviour (GOMEMLIMIT=off) and with an operator's
// own limit (GOMEMLIMIT=32MiB, about twice the live heap: 48MiB, which
// this measured while the heap was larger, no longer binds); and the
// share of the CPU the process used during those requests that went to
// the garbage collector. Beside them, what the Go runtime says then
// (serve's /metrics): the memory limit in force, the heap's spans in use
// (live objects, garbage not yet collected and the room the spans'
// objects leave unfilled) and the heap's free memory not yet returned
// to the system.
func BenchmarkMemory(b *testing.B) {
	const n = 10000
	dir := b.TempDir()
	config := writeSchedule(b, dir, n, "Memory")
	state := filepath.Join(dir, "state.db")
	st, err := store.Open(state)
	if err != nil {
		b.Fatal(err)
	}
	subscribers := float64(n)
	if err := addSubscribers(b, st, n); err != nil {
		b.Logf("no subscribers added: %v", err)
		subscribers = 0
	}
	st.Close()
	for _, c := range []struct{ name, limit string }{
		{"shipped", ""}, // empty overrides the bench's own environment
		{"GOMEMLIMIT=off", "off"},
		{"GOMEMLIMIT=32MiB", "32MiB"},
	} {
		b.Run(c.name, func(b *testing.B) {
			d := startServe(b, config, state, "GOGC=", "GOMEMLIMIT="+c.limit)
			before := gcCPU(b, d)
			for i := range n {
				get200(b, d.base+fmt.Sprintf("/sessions/s%05d.ics", i))
			}
			for range 200 {
				get200(b, d.base+"/calendar.ics")
			}
			after := gcCPU(b, d)
			m := d.rss(b)
			rt := goMetrics(b, d, "go_gc_gomemlimit_bytes", "go_memstats_heap_inuse_bytes", "go_memstats_heap_idle_bytes", "go_memstats_heap_released_bytes")
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(n, "sessions")
			b.ReportMetric(subscribers, "subscribers")
			b.ReportMetric(float64(m.rss)/(1<<20), "MB-RSS")
			b.ReportMetric(float64(m.anon)/(1<<20), "MB-RSS-anon")
			b.ReportMetric(float64(m.file)/(1<<20), "MB-RSS-file")
			b.ReportMetric(float64(m.peak)/(1<<20), "MB-peak-RSS")
			if limit := rt[0]; limit < 1<<62 { // none: math.MaxInt64
				b.ReportMetric(limit/(1<<20), "MB-limit")
			}
			b.ReportMetric(rt[1]/(1<<20), "MB-heap-inuse")
			b.ReportMetric((rt[2]-rt[3])/(1<<20), "MB-heap-free-kept")
			after.report(b, before)
			d.stop()
		})
	}
}

// cpuClasses is the CPU time of a serve process as the Go runtime
// counts it (runtime/metrics /cpu/classes), in seconds: available
// (GOMAXPROCS times the wall time), idle, and the garbage collector's.
type cpuClasses struct{ total, idle, gc, scavenge float64 }

// report reports the shares of the CPU the process used since before
// that went to the garbage collector and to returning memory to the
// system (the scavenger), in percent.
func (c cpuClasses) report(b *testing.B, before cpuClasses) {
	used := (c.total - c.idle) - (before.total - before.idle)
	b.ReportMetric(100*(c.gc-before.gc)/used, "%-gc-cpu")
	b.ReportMetric(100*(c.scavenge-before.scavenge)/used, "%-scavenge-cpu")
}

// gcCPU reads the CPU classes from serve's /metrics.
func gcCPU(tb testing.TB, d *daemon) cpuClasses {
	tb.Helper()
	v := goMetrics(tb, d, "go_cpu_classes_total_cpu_seconds_total", "go_cpu_classes_idle_cpu_seconds_total",
		"go_cpu_classes_gc_total_cpu_seconds_total", "go_cpu_classes_scavenge_total_cpu_seconds_total")
	return cpuClasses{total: v[0], idle: v[1], gc: v[2], scavenge: v[3]}
}

// goMetrics reads the values of names, metrics without labels, from
// serve's /metrics, in the order of names.
func goMetrics(tb testing.TB, d *daemon, names ...string) []float64 {
	tb.Helper()
	resp, err := http.Get(d.base + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	values := make([]float64, len(names))
	found := 0
	for _, line := range strings.Split(string(body), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if i := slices.Index(names, name); ok && i >= 0 {
			if values[i], err = strconv.ParseFloat(value, 64); err != nil {
				tb.Fatalf("/metrics: %s: %v", line, err)
			}
			found++
		}
	}
	if found != len(names) {
		tb.Fatalf("/metrics has %d of %v", found, names)
	}
	return values
}

// BenchmarkLoad runs 500 concurrent wrk clients for 30 seconds (set
// CONVENE_BENCH_LOAD_SECONDS to change) against `convene serve` with the
// sample events.toml, fetching /calendar.ics in full and with
// If-None-Match, and reports throughput, p99 latency, errors and the
// shares of serve's CPU that went to the garbage collector and the
// scavenger.
func BenchmarkLoad(b *testing.B) {
	wrk := needWrk(b)
	secs := 30
	if s := os.Getenv("CONVENE_BENCH_LOAD_SECONDS"); s != "" {
		secs, _ = strconv.Atoi(s)
	}
	dir := b.TempDir()
	config := filepath.Join(dir, "events.toml")
	data, err := os.ReadFile(filepath.Join("..", "events.toml"))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(config, data, 0o644); err != nil {
		b.Fatal(err)
	}
	d := startServe(b, config, filepath.Join(dir, "state.db"))
	etag := head(b, d.base+"/calendar.ics")
	for _, c := range []struct {
		name    string
		headers []string
	}{{"full", nil}, {"if-none-match", []string{"If-None-Match: " + etag}}} {
		b.Run(c.name, func(b *testing.B) {
			before := gcCPU(b, d)
			r := runWrk(b, wrk, d.base+"/calendar.ics", 500, time.Duration(secs)*time.Second, c.headers...)
			gcCPU(b, d).report(b, before)
			b.Logf("wrk:\n%s", r.Out)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(500, "clients")
			b.ReportMetric(r.RPS, "req/s")
			b.ReportMetric(float64(r.Requests), "requests")
			b.ReportMetric(float64(r.Errors), "errors")
			b.ReportMetric(float64(r.P99.Microseconds())/1000, "ms-p99")
		})
	}
}

// head returns the ETag of url.
func head(tb testing.TB, url string) string {
	tb.Helper()
	resp, err := http.Head(url)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		tb.Fatalf("HEAD %s: %d", url, resp.StatusCode)
	}
	return resp.Header.Get("Etag")
}

func get200(tb testing.TB, url string) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		tb.Fatal(err)
	}
	if resp.StatusCode != 200 {
		tb.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
}

func replaceOnce(s, old, new string) string {
	return strings.Replace(s, old, new, 1)
}
