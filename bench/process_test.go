package bench

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkFeedCommand runs the whole `convene feed` process on the
// 10,000-session schedule with a warm state file (the versions exist),
// as a static-hosting job does on every push: the full feed to stdout,
// and with --out, every feed and its .gz into a directory (emptied
// before each run). It reports wall and CPU time (all threads, which a
// machine shared with other work inflates less than the wall) and the
// peak resident memory, medians.
func BenchmarkFeedCommand(b *testing.B) {
	const n = 10000
	bin := buildConvene(b)
	dir := b.TempDir()
	config := writeSchedule(b, dir, n, "Feed command")
	state := filepath.Join(dir, "state.db")
	feed := func(args ...string) (cpu time.Duration, peakKiB int64) {
		cmd := exec.Command(bin, append([]string{"feed", "--config", config, "--state", state}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("convene feed: %v\n%.2000s", err, out)
		}
		ps := cmd.ProcessState
		return ps.UserTime() + ps.SystemTime(), ps.SysUsage().(*syscall.Rusage).Maxrss
	}
	feed() // the versions exist from here on
	for _, bb := range []struct {
		name string
		args []string
	}{{"stdout", nil}, {"out", []string{"--out", filepath.Join(dir, "public")}}} {
		b.Run(bb.name, func(b *testing.B) {
			var ms, cpu, peak []float64
			for b.Loop() {
				b.StopTimer()
				os.RemoveAll(filepath.Join(dir, "public"))
				b.StartTimer()
				start := time.Now()
				c, kib := feed(bb.args...)
				ms = append(ms, float64(time.Since(start).Microseconds())/1000)
				cpu = append(cpu, float64(c.Microseconds())/1000)
				peak = append(peak, float64(kib)/1024)
			}
			b.ReportMetric(median(ms), "ms-median")
			b.ReportMetric(median(cpu), "cpu-ms-median")
			b.ReportMetric(median(peak), "peak-MB-median")
		})
	}
}

// BenchmarkStartup measures how long after `convene serve` starts its
// /healthz answers 200 and its /readyz answers 200 (the first schedule
// is served), on a schedule of 100,000 sessions with a warm state file.
func BenchmarkStartup(b *testing.B) {
	const n = 100000
	bin := buildConvene(b)
	dir := b.TempDir()
	config := writeSchedule(b, dir, n, "Startup")
	state := filepath.Join(dir, "state.db")
	var live, ready []float64
	for i := 0; b.Loop(); i++ {
		port := freePort(b)
		base := "http://127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(bin, "serve", "--config", config, "--state", state, "--addr", "127.0.0.1:"+strconv.Itoa(port), "--log-level", "warn")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CONVENE_OUTBOX="+filepath.Join(dir, "outbox"))
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		var l, r time.Duration
		for r == 0 && time.Since(start) < 5*time.Minute {
			if l == 0 && answers(base+"/healthz") {
				l = time.Since(start)
			}
			if l != 0 && answers(base+"/readyz") {
				r = time.Since(start)
			}
			time.Sleep(time.Millisecond)
		}
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if r == 0 {
			b.Fatal("convene serve was not ready within 5 minutes")
		}
		if i > 0 { // the first run fills the state file
			live = append(live, float64(l.Microseconds())/1000)
			ready = append(ready, float64(r.Microseconds())/1000)
		}
	}
	if len(live) == 0 {
		return
	}
	sort.Float64s(live)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(median(live), "ms-healthz")
	b.ReportMetric(median(ready), "ms-readyz")
	b.Logf("sessions=%d healthz after %v ms, readyz after %v ms", n, live, ready)
}

// answers reports whether url answers 200.
func answers(url string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
